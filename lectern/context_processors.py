"""Template context shared by every page."""

from django.conf import settings


def site(request) -> dict:
    """Where the source code is offered (AGPL-3.0 section 13) and the site's name."""
    return {"LECTERN_SOURCE_URL": settings.LECTERN_SOURCE_URL}
