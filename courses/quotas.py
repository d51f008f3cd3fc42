"""A teacher's storage: what their lessons hold on disk, and the quota that bounds it.

Counted: the scene images of every lesson in the teacher's courses (a file shared by
forked versions once), the working folders of their pending imports, and the published
render outputs of their lessons. The render cache is shared by everyone and not counted.
Sizes are read from the disk each time: a few thousand `stat` calls for a busy teacher.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from courses.models import PendingImport, RenderJob, Scene
from courses.storage import folder_bytes, stored_bytes, stored_folder_bytes

# Rough bytes per second of video a render publishes (video, audio, captions, poster), per
# size on the render form; measured on the reference lessons at standard quality and
# rounded up, so a render refused near the quota would indeed not have fitted.
RENDER_BYTES_PER_S = {"tiny": 40_000, "small": 120_000, "hd": 300_000, "full-hd": 600_000}


@dataclass(frozen=True)
class StorageUse:
    """Bytes a teacher's material takes, and their quota (0: no quota)."""

    images_bytes: int
    imports_bytes: int
    renders_bytes: int
    quota_bytes: int

    @property
    def used_bytes(self) -> int:
        return self.images_bytes + self.imports_bytes + self.renders_bytes

    @property
    def free_bytes(self) -> int | None:
        """Bytes left under the quota (never negative), None when there is no quota."""
        return max(self.quota_bytes - self.used_bytes, 0) if self.quota_bytes else None

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used_bytes / self.quota_bytes)) if self.quota_bytes else 0

    def __str__(self) -> str:
        if not self.quota_bytes:
            return _("%(used)s used") % {"used": filesizeformat(self.used_bytes)}
        return _("%(used)s of %(quota)s used") % {
            "used": filesizeformat(self.used_bytes),
            "quota": filesizeformat(self.quota_bytes),
        }


def teacher_quota_bytes() -> int:
    return max(settings.LECTERN_TEACHER_QUOTA_MB, 0) * 1024 * 1024


def teacher_storage_use(user, *, exclude_pending_id=None) -> StorageUse:
    """What the teacher's images, pending imports and renders take now."""
    # A file shared by forked versions counts once.
    image_names = set(
        Scene.objects.filter(version__lesson__course__owner=user)
        .exclude(image="")
        .values_list("image", flat=True)
    )
    images = sum(stored_bytes(name) for name in image_names)
    pending = PendingImport.objects.filter(owner=user)
    if exclude_pending_id is not None:
        pending = pending.exclude(pk=exclude_pending_id)
    imports = sum(folder_bytes(Path(folder)) for folder in pending.values_list("folder", flat=True))
    output_dirs = (
        RenderJob.objects.filter(version__lesson__course__owner=user)
        .exclude(output_dir="")
        .values_list("output_dir", flat=True)
    )
    renders = sum(stored_folder_bytes(output_dir) for output_dir in output_dirs)
    return StorageUse(images, imports, renders, teacher_quota_bytes())


def quota_exceeded_message(use: StorageUse, *, adding_bytes: int, what: str) -> str:
    return _(
        "Your storage is full: %(what)s needs about %(adding)s, and you use %(use)s. "
        "Delete old lessons, renders or pending imports, or ask your administrator for "
        "more space."
    ) % {"what": what, "adding": filesizeformat(adding_bytes), "use": use}


def quota_check(user, *, adding_bytes: int, what: str, exclude_pending_id=None) -> StorageUse:
    """Raise ValidationError when adding this many bytes would pass the teacher's quota."""
    use = teacher_storage_use(user, exclude_pending_id=exclude_pending_id)
    if use.quota_bytes and use.used_bytes + adding_bytes > use.quota_bytes:
        raise ValidationError(quota_exceeded_message(use, adding_bytes=adding_bytes, what=what))
    return use


def render_output_estimate_bytes(*, duration_s: float, size: str) -> int:
    """About how many bytes a render of this length and size publishes."""
    return int(duration_s * RENDER_BYTES_PER_S.get(size, RENDER_BYTES_PER_S["full-hd"]))
