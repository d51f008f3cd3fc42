"""Tags that show a moderator's rejection next to a scene in the teacher's studio."""

from django import template

from moderation.selectors import scene_rejection_notices

register = template.Library()


@register.simple_tag
def rejection_notices(version) -> dict:
    """{% rejection_notices version as notices %}: once per page, then `scene_notice`."""
    return scene_rejection_notices(version)


@register.inclusion_tag("moderation/_scene_notice.html")
def scene_notice(notices: dict, scene) -> dict:
    """{% scene_notice notices scene %}: the reason a moderator gave, if any."""
    return {"notice": notices.get(scene.pk) if notices else None}
