"""Apply a signed-in user's language preference before LocaleMiddleware runs."""

from django.conf import settings


class UserLanguageMiddleware:
    """A signed-in user's saved language beats the cookie, so a shared school computer
    shows each pupil their own language; signed-out visitors keep the cookie/browser choice."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = user.language
        return self.get_response(request)
