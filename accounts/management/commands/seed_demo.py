"""`python manage.py seed_demo`: load the demo accounts, class and lesson (idempotent)."""

from django.core.management.base import BaseCommand

from accounts.demo import demo_data_seed


class Command(BaseCommand):
    help = "Create the demo accounts, class, course and lesson; safe to run again."

    def handle(self, *args, **options):
        summary = demo_data_seed()
        if summary.created_users:
            self.stdout.write(
                self.style.SUCCESS(f"Demo accounts created: {', '.join(summary.created_users)}")
            )
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        if summary.adaptive_lesson_id is not None:
            # personalize DEMO_LESSON --student demo-student1 (or 2) shows two different plans.
            self.stdout.write(f"demo-lesson: {summary.adaptive_lesson_id}")
