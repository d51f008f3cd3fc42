"""personalize LESSON_ID --student USERNAME -o OUT.mp4: print a student's plan of a lesson
with the reason for each scene and the time taken, and write that variant."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.models import User
from courses.models import Lesson
from learning.variants import VariantError, student_variant, variant_write
from synthesis.errors import SynthesisError


class Command(BaseCommand):
    help = _("Write the variant of a lesson that the sequencing policy plans for a student.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("lesson_id", type=int)
        parser.add_argument("--student", required=True)
        parser.add_argument("-o", "--output", required=True, help=_("the MP4 to write"))
        parser.add_argument(
            "--plan-only", action="store_true", help=_("print the plan, write nothing")
        )

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        lesson = Lesson.objects.filter(pk=options["lesson_id"]).select_related("course").first()
        if lesson is None:
            raise CommandError(_("No lesson %(id)s.") % {"id": options["lesson_id"]})
        student = User.objects.filter(username=options["student"]).first()
        if student is None:
            raise CommandError(_("No user %(name)s.") % {"name": options["student"]})
        try:
            variant = student_variant(student=student, lesson=lesson)
        except VariantError as error:
            raise CommandError(str(error)) from error
        planned_s = time.perf_counter() - started
        self.stdout.write(
            _("Plan of %(lesson)s for %(student)s (%(count)s of %(total)s scenes, %(s).1f s):")
            % {
                "lesson": lesson.title,
                "student": student.username,
                "count": len(variant.plan.order),
                "total": len(variant.rows),
                "s": variant.plan.duration_s(),
            }
        )
        for row in variant.reasons():
            mark = "+" if row["included"] else "-"
            self.stdout.write(
                f"  {mark} [{row['role']}] {row['title']}"
                f" ({row['concept'] or '-'}): {row['reason']}"
            )
        self.stdout.write(_("planned in %(s).2f s") % {"s": planned_s})
        if options["plan_only"]:
            return
        try:
            written = variant_write(variant, options["output"])
        except (VariantError, SynthesisError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            _(
                "wrote %(path)s: %(encoded)s segments encoded, %(reused)s reused; "
                "plan %(plan).2f s, encode %(encode).2f s, assemble %(assemble).2f s, "
                "total %(total).2f s"
            )
            % {
                "path": written.path,
                "encoded": written.encoded,
                "reused": written.reused,
                "plan": written.plan_s,
                "encode": written.encode_s,
                "assemble": written.assemble_s,
                "total": time.perf_counter() - started,
            }
        )
