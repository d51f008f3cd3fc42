"""policy_serve --course SLUG: the sequencing policy over JSON Lines on stdin and stdout.

Each input line is one decision request, {"student", "t", "cap_s", "course": {"concepts",
"check_s", "lesson", "scenes": [{"id", "concept", "role", "duration_s"}]}, "history": [...]};
each output line is the action: {"type": "scene", "id"} | {"type": "check", "concept"} |
{"type": "stop"}. The rules are learning.policy.next_action, as in the app; the parameters
and thresholds are the course's (defaults when it has no data or does not exist).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError
from django.utils.translation import gettext as _

from courses.models import Course
from learning.mastery import course_policy_models, course_thresholds
from learning.policy import PolicyScene, Thresholds, next_action


def request_scenes(course: dict) -> list[PolicyScene]:
    return [
        PolicyScene(
            id=str(s["id"]),
            concept=None if s.get("concept") in (None, "") else str(s["concept"]),
            role=str(s.get("role") or "core"),
            duration_s=float(s.get("duration_s") or 0),
            language=str(s.get("language") or ""),
            group=str(s.get("group") or ""),
        )
        for s in course.get("scenes", [])
    ]


def concept_names(course: dict, scenes: list[PolicyScene]) -> list[str]:
    names = []
    for c in course.get("concepts") or []:
        if isinstance(c, dict):
            c = c.get("id", c.get("slug", c.get("name")))
        names.append(str(c))
    return list(dict.fromkeys([*names, *(s.concept for s in scenes if s.concept)]))


class Command(BaseCommand):
    help = _("Answer sequencing decisions as JSON Lines on standard input and output.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--course", default="", help=_("the course whose parameters to use"))

    def handle(self, *args, **options) -> None:
        try:
            course = Course.objects.filter(slug=options["course"]).first()
            models = course_policy_models(course)
            thresholds = course_thresholds(course)
        except DatabaseError as error:  # no database yet: the policy still runs on defaults
            self.stderr.write(_("No course data (%(error)s); using defaults.") % {"error": error})
            models, thresholds = {}, Thresholds()
        out = sys.stdout
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                spec = request.get("course") or {}
                scenes = request_scenes(spec)
                action = next_action(
                    scenes,
                    concepts=concept_names(spec, scenes),
                    history=request.get("history") or [],
                    models=models,
                    thresholds=thresholds,
                    check_s=float(spec.get("check_s") or 15),
                    t=float(request.get("t") or 0),
                    cap_s=float(request["cap_s"]) if request.get("cap_s") else None,
                    language=str(request.get("language") or ""),
                )
                reply = action.as_dict()
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                reply = {"type": "error", "error": str(error)}
            out.write(json.dumps(reply) + "\n")
            out.flush()
