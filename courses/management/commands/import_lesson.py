"""python manage.py import_lesson SOURCE --course SLUG --owner USERNAME

SOURCE is a Markdown lesson folder, a .zip of one, a .pdf or a .pptx. The course is
created for the owner when it does not exist. Prints every warning, then (last line)
the new lesson's id.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from courses.messages import error_text, message_text
from courses.models import ImportKind
from courses.services import course_for_command, pending_import_confirm, pending_import_create
from lessonimport.upload import kind_for_name
from synthesis.errors import LessonImportError


class Command(BaseCommand):
    help = "Import a lesson (folder, .zip, .pdf or .pptx) into a course."

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path)
        parser.add_argument("--course", required=True, help="course slug (created if missing)")
        parser.add_argument("--owner", required=True, help="username of the course's teacher")
        parser.add_argument("--language", choices=["en", "zh"], help="default: detect")
        parser.add_argument("--title", default="", help="lesson title (default: from the source)")

    def handle(self, *args, source: Path, course: str, owner: str, **options):
        owner_user = get_user_model().objects.filter(username=owner).first()
        if owner_user is None:
            raise CommandError(f"No user named '{owner}'.")
        if not source.exists():
            raise CommandError(f"'{source}' does not exist.")
        kind = ImportKind.FOLDER if source.is_dir() else kind_for_name(source.name)
        if kind is None:
            raise CommandError(f"'{source.name}' is not a folder, .zip, .pdf or .pptx.")
        try:
            target = course_for_command(owner=owner_user, slug=course)
            pending = pending_import_create(
                owner=owner_user,
                course=target,
                source=source,
                kind=kind,
                language=options.get("language"),
            )
        except (LessonImportError, ValidationError) as error:
            if isinstance(error, ValidationError):
                raise CommandError("; ".join(error.messages)) from error
            raise CommandError(error_text(error)) from error
        for line in pending.summary:
            self.stdout.write(message_text(line))
        for warning in pending.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {message_text(warning)}"))
        lesson = pending_import_confirm(pending=pending, user=owner_user, title=options["title"])
        self.stdout.write(str(lesson.pk))
