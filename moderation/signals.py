"""What moderation tells other apps, which it must not import (they import it)."""

from django.dispatch import Signal

# Sent once a publish is committed, with `version`: the version students now see.
version_published = Signal()
