"""Template filters for the teacher studio pages."""

from django import template
from django.utils.translation import gettext_lazy as _

from courses.estimates import format_duration
from courses.messages import message_text as _message_text
from courses.selectors import scene_checkpoint
from courses.services import RENDER_SIZES

register = template.Library()

# Names the render pipeline reports its stages by, as the page shows them.
STAGE_LABELS = {
    "queued": _("Waiting for a render worker"),
    "requeued": _("Waiting to start again: the render worker stopped"),
    "waiting to retry": _("Waiting to try again after a temporary problem"),
    "starting": _("Starting"),
    "storyboard": _("Reading the lesson"),
    "speech": _("Recording the narration"),
    "narration": _("Recording the narration"),
    "audio": _("Recording the narration"),
    "frames": _("Drawing the scenes"),
    "scenes": _("Drawing the scenes"),
    "render": _("Drawing the scenes"),
    "plan": _("Timing the scenes"),
    "assemble": _("Putting the video together"),
    "encode": _("Encoding the video"),
    "encoding": _("Encoding the video"),
    "mux": _("Putting the video together"),
    "concat": _("Putting the video together"),
    "captions": _("Writing captions"),
    "publish": _("Publishing"),
    "done": _("Done"),
    "failed": _("Failed"),
    "cancelled": _("Cancelled"),
}


@register.filter
def message_text(value) -> str:
    """A stored warning or summary line (synthesis.messages.Message) in the page's language."""
    return _message_text(value)


@register.filter
def duration(seconds) -> str:
    """65 -> '1:05'; empty for a missing value."""
    if seconds in (None, ""):
        return ""
    return format_duration(float(seconds))


@register.filter
def stage_label(stage: str) -> str:
    return str(STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize()))


@register.filter
def checkpoint_of(scene):
    """The scene's checkpoint, or None (the reverse one-to-one raises when there is none)."""
    return scene_checkpoint(scene)


@register.filter
def size_key(job) -> str:
    """The render form's size choice that produced this job."""
    for key, (width, height, _fps) in RENDER_SIZES.items():
        if (width, height) == (job.width_px, job.height_px):
            return key
    return "hd"


@register.filter
def plain_number(value) -> str:
    """A number as JavaScript reads it (no localised decimal comma), or empty."""
    if value in (None, ""):
        return ""
    return repr(float(value))
