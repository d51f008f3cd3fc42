"""`python manage.py delete_student USERNAME`: remove a student's personal data from every
table and delete the account (see moderation/privacy.py for what goes)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from moderation.privacy import student_delete, student_for_privacy


class Command(BaseCommand):
    help = "Delete a student and their personal data (events, progress, answers, sign-ins)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            student = student_for_privacy(username)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        summary = student_delete(user=student)
        self.stdout.write(
            f"Deleted {username}: {summary.learning_events} learning events, "
            f"{summary.progress} progress rows, {summary.answers} answers, "
            f"{summary.memberships} memberships, {summary.sign_in_records} sign-in records, "
            f"{summary.sessions} sessions; {summary.reports_anonymised} reports anonymised."
        )
