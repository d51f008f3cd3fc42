"""The reasons a student may give when reporting a lesson (the player page's form)."""

from django import template

from moderation.models import ReportReason

register = template.Library()


@register.simple_tag
def report_reasons() -> list[tuple[str, str]]:
    return list(ReportReason.choices)
