"""Users with one role each, classes with join codes, and class membership."""

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

# No 0/O or 1/I/L: codes are read aloud and typed by children.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6


class Role(models.TextChoices):
    TEACHER = "teacher", _("Teacher")
    STUDENT = "student", _("Student")
    MODERATOR = "moderator", _("Moderator")


class CaptionSize(models.TextChoices):
    SMALL = "small", _("Small")
    MEDIUM = "medium", _("Medium")
    LARGE = "large", _("Large")


class User(AbstractUser):
    """A Lectern account. Students need no e-mail address; site admins are staff."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STUDENT)
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Interface and narration language; empty follows the browser."),
    )
    captions_enabled = models.BooleanField(_("show captions"), default=True)
    captions_size = models.CharField(
        _("caption size"), max_length=8, choices=CaptionSize.choices, default=CaptionSize.MEDIUM
    )

    @property
    def is_teacher(self) -> bool:
        return self.role == Role.TEACHER

    @property
    def is_student(self) -> bool:
        return self.role == Role.STUDENT

    @property
    def is_moderator(self) -> bool:
        return self.role == Role.MODERATOR

    def __str__(self) -> str:
        return self.display_name or self.username


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


class Classroom(models.Model):
    """A teacher's class; students join it with its code."""

    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="classrooms_taught"
    )
    name = models.CharField(_("name"), max_length=120)
    join_code = models.CharField(_("join code"), max_length=12, unique=True, default=new_join_code)
    students = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="classrooms"
    )
    courses = models.ManyToManyField("courses.Course", blank=True, related_name="classrooms")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE)
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["classroom", "student"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.student} in {self.classroom}"
