"""Changes to accounts: signing up, classes and joining them, preferences."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import CaptionSize, Classroom, Membership, Role, User, new_join_code
from accounts.selectors import classroom_by_join_code


def normalize_join_code(code: str) -> str:
    """Join codes are typed by children: ignore case, spaces and dashes."""
    return "".join(code.split()).replace("-", "").upper()


def teacher_sign_up(
    *, username: str, password: str, display_name: str = "", email: str = ""
) -> User:
    """Create a teacher account (teachers register themselves)."""
    user = User(username=username, display_name=display_name, email=email, role=Role.TEACHER)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def student_sign_up(
    *, username: str, password: str, join_code: str, display_name: str = ""
) -> User:
    """Create a student account inside the class the join code names; no e-mail address."""
    classroom = _classroom_for_code(join_code)
    user = User(username=username, display_name=display_name, role=Role.STUDENT)
    user.set_password(password)
    user.full_clean()
    user.save()
    Membership.objects.create(classroom=classroom, student=user)
    return user


def classroom_join(*, student: User, join_code: str) -> Classroom:
    """Add a student to the class the join code names; joining twice changes nothing."""
    if not student.is_student:
        raise ValidationError(_("Only student accounts can join a class."))
    classroom = _classroom_for_code(join_code)
    Membership.objects.get_or_create(classroom=classroom, student=student)
    return classroom


def classroom_create(*, teacher: User, name: str) -> Classroom:
    """Create a class with a fresh join code (a new code is drawn on the rare collision)."""
    if not (teacher.is_teacher or teacher.is_staff):
        raise ValidationError(_("Only teachers can create classes."))
    for _attempt in range(5):
        classroom = Classroom(teacher=teacher, name=name.strip(), join_code=new_join_code())
        classroom.full_clean(exclude=["join_code"])
        try:
            with transaction.atomic():
                classroom.save()
            return classroom
        except IntegrityError:
            continue
    raise ValidationError(_("Could not find a free join code; please try again."))


def user_preferences_update(
    *,
    user: User,
    display_name: str,
    language: str,
    captions_enabled: bool,
    captions_size: str = CaptionSize.MEDIUM,
) -> User:
    """Save what a user chose on their profile page."""
    user.display_name = display_name
    user.language = language
    user.captions_enabled = captions_enabled
    user.captions_size = captions_size
    user.full_clean()
    user.save(update_fields=["display_name", "language", "captions_enabled", "captions_size"])
    return user


def user_caption_size_set(*, user: User, captions_size: str) -> None:
    """The player's caption-size selector: the choice becomes the profile preference."""
    if captions_size not in CaptionSize.values:
        raise ValidationError(_("Unknown caption size."))
    user.captions_size = captions_size
    user.save(update_fields=["captions_size"])


def user_language_set(*, user: User, language: str) -> None:
    """Remember the language a signed-in user picked in the switcher."""
    user.language = language
    user.full_clean()
    user.save(update_fields=["language"])


def _classroom_for_code(join_code: str) -> Classroom:
    classroom = classroom_by_join_code(normalize_join_code(join_code))
    if classroom is None:
        raise ValidationError(
            _("No class has the join code %(code)s. Check it with your teacher."),
            params={"code": join_code.strip()},
            code="unknown_join_code",
        )
    return classroom
