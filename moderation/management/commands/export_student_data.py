"""`python manage.py export_student_data USERNAME -o FILE.zip`: everything stored about a
student, as data.json (and media/) in a zip."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from moderation.privacy import student_data_export, student_for_privacy


class Command(BaseCommand):
    help = "Export everything Lectern stores about a student to a zip (data.json, media/)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("-o", "--output", required=True, help="the zip file to write")

    def handle(self, *args, username, output, **options):
        try:
            student = student_for_privacy(username)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        path = student_data_export(user=student, out=output)
        self.stdout.write(f"Wrote {path}")
