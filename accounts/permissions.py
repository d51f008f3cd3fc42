"""The one way Lectern decides access: a view names the roles it admits.

Anonymous users are sent to sign in; signed-in users without the role get 403.
Staff (site admins) pass every role check.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def user_has_role(user, roles: tuple[str, ...]) -> bool:
    return user.is_authenticated and (user.is_staff or user.role in roles)


def role_required(*roles: str) -> Callable:
    """Decorator for function views: `@role_required(Role.TEACHER)`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_has_role(request.user, roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RoleRequiredMixin(AccessMixin):
    """Mixin for class-based views: set `roles = (Role.TEACHER,)`."""

    roles: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not user_has_role(request.user, self.roles):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
