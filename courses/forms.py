"""Forms of the teacher studio: they parse and validate input; services do the changes."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from courses.models import Course, Language, SceneKind, SceneRole, VersionStatus
from courses.narration import language_voices, voice_label
from courses.services import (
    RENDER_QUALITIES,
    RENDER_SIZES,
    VOICE_RATE_MAX,
    VOICE_RATE_MIN,
    split_concept_names,
)
from courses.uploads import RefusedUpload
from lessonimport.upload import kind_for_name

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")
CHECKPOINT_CHOICE_SLOTS = 6


def _check_upload_size(upload) -> None:
    limit = settings.LECTERN_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise forms.ValidationError(
            _("“%(name)s” is %(size)s; files can be at most %(limit)s.")
            % {
                "name": upload.name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(limit),
            }
        )


def upload_too_large_message(*, file_name: str, limit_bytes: int) -> str:
    """The error for a file refused while it was arriving (its full size is never known)."""
    return _("“%(name)s” is larger than %(limit)s, the largest file Lectern accepts.") % {
        "name": file_name,
        "limit": filesizeformat(limit_bytes),
    }


class UploadLimitFormMixin:
    """For forms with file fields: a file the upload limit refused (courses.uploads) becomes
    its field's error, and the browser is told the limit so it can refuse the file at once."""

    def __init__(self, *args, refused_uploads: Iterable[RefusedUpload] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.refused_uploads = tuple(refused_uploads)
        limit = settings.LECTERN_MAX_UPLOAD_BYTES
        for field in self.fields.values():
            if isinstance(field, forms.FileField):
                field.widget.attrs["data-max-bytes"] = str(limit)
                field.widget.attrs["data-too-large"] = upload_too_large_message(
                    file_name="{name}", limit_bytes=limit
                )

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound:
            return
        for refused in self.refused_uploads:
            if refused.field_name not in self.fields:
                continue
            # Replaces "This field is required.": the file was sent, only not kept.
            self.cleaned_data.pop(refused.field_name, None)
            self._errors[refused.field_name] = self.error_class(
                [
                    upload_too_large_message(
                        file_name=refused.file_name, limit_bytes=refused.limit_bytes
                    )
                ],
                renderer=self.renderer,
            )


class CourseForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["title", "slug", "language", "description"]
        help_texts = {
            "slug": _("Used in addresses; leave empty to make one from the title."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["description"].widget.attrs["rows"] = 3


class CourseEditForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["title", "language", "description"]


class LessonForm(forms.Form):
    title = forms.CharField(label=_("Lesson title"), max_length=200)


class ClassroomsForm(forms.Form):
    classrooms = forms.ModelMultipleChoiceField(
        label=_("Classes that take this course"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classrooms"].queryset = owner.classrooms_taught.all()


class LessonImportForm(UploadLimitFormMixin, forms.Form):
    file = forms.FileField(
        label=_("Lesson material"),
        help_text=_(
            "A Markdown lesson folder as .zip (lesson.md and its images), a PDF, "
            "or a PowerPoint .pptx."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.pdf,.pptx"}),
    )
    language = forms.ChoiceField(
        label=_("Narration language"),
        choices=[("", _("Detect from the material")), *Language.choices],
        required=False,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if kind_for_name(upload.name) is None:
            raise forms.ValidationError(
                _(
                    "“%(name)s” is not a file Lectern can import: choose a .zip "
                    "(Markdown lesson folder), a .pdf or a .pptx."
                )
                % {"name": upload.name}
            )
        _check_upload_size(upload)
        return upload

    @property
    def kind(self) -> str:
        return kind_for_name(self.cleaned_data["file"].name) or ""


class ImportConfirmForm(forms.Form):
    title = forms.CharField(label=_("Lesson title"), max_length=200)
    # Which button confirmed: a proposed series split, or one lesson (also when absent).
    series = forms.ChoiceField(
        choices=[("one", _("Keep one lesson")), ("split", _("Create the series"))],
        required=False,
    )


class SceneForm(UploadLimitFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Visual"), choices=SceneKind.choices)
    title = forms.CharField(label=_("Title"), max_length=300, required=False)
    body = forms.CharField(
        label=_("Slide text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Text slide: one bullet per line. Title card: the subtitle."),
    )
    math = forms.CharField(
        label=_("Formulas (LaTeX)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=_("Shown on a text slide; separate formulas with an empty line."),
    )
    code = forms.CharField(
        label=_("Code"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code-input"}),
    )
    code_language = forms.CharField(
        label=_("Code language"),
        max_length=40,
        required=False,
        help_text=_("For highlighting, e.g. python, bash."),
    )
    image = forms.FileField(
        label=_("Image"),
        required=False,
        help_text=_("PNG, JPEG, GIF, WebP or SVG."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(IMAGE_EXTENSIONS)}),
    )
    clear_image = forms.BooleanField(label=_("Remove the image"), required=False)
    image_alt = forms.CharField(
        label=_("Image description"),
        max_length=500,
        required=False,
        help_text=_("What the image shows, for learners who cannot see it."),
    )
    narration = forms.CharField(
        label=_("Narration"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What the voice says while this scene is shown."),
    )
    language = forms.ChoiceField(label=_("Narration language"), choices=Language.choices)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=SceneRole.choices,
        help_text=_("Remedial and enrichment scenes are shown only to some learners."),
    )
    concepts = forms.CharField(
        label=_("Concepts"),
        required=False,
        help_text=_("Separate with commas; new names are added to the course's vocabulary."),
        widget=forms.TextInput(attrs={"list": "concept-names", "autocomplete": "off"}),
    )

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if not upload:
            return None
        if Path(upload.name).suffix.lower() not in IMAGE_EXTENSIONS:
            raise forms.ValidationError(
                _("“%(name)s” is not an image Lectern can show: use PNG, JPEG, GIF, WebP or SVG.")
                % {"name": upload.name}
            )
        _check_upload_size(upload)
        _check_image_loads(upload)
        return upload

    def clean_narration(self) -> str:
        narration = self.cleaned_data["narration"]
        limit = settings.LECTERN_MAX_NARRATION_CHARS
        if limit and len(narration) > limit:
            raise forms.ValidationError(
                _(
                    "This scene's narration has %(count)s characters; a scene may have at "
                    "most %(limit)s. Split it into several scenes."
                )
                % {"count": len(narration), "limit": limit}
            )
        return narration

    def clean_math(self) -> list[str]:
        text = self.cleaned_data.get("math", "").replace("\r\n", "\n")
        return [block.strip() for block in text.split("\n\n") if block.strip()]

    def clean_concepts(self) -> list[str]:
        return split_concept_names(self.cleaned_data.get("concepts", ""))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == SceneKind.CODE and not cleaned.get("code", "").strip():
            self.add_error("code", _("A code slide needs some code."))
        return cleaned


def _check_image_loads(upload) -> None:
    """Open the image the way the renderer will, so a broken file is refused now."""
    from synthesis.frames.images import ImageLoadError, load_image

    # A copy under the upload's own name, so the loader's message names the teacher's file.
    name = Path(upload.name).name or "image"
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / name
        with open(copy, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            load_image(copy)
        except ImageLoadError as error:
            raise forms.ValidationError(str(error)) from error
    upload.seek(0)


def scene_initial(scene) -> dict:
    """The scene's fields as SceneForm initial data."""
    return {
        "kind": scene.kind,
        "title": scene.title,
        "body": scene.body,
        "math": "\n\n".join(scene.math),
        "code": scene.code,
        "code_language": scene.code_language,
        "image_alt": scene.image_alt,
        "narration": scene.narration,
        "language": scene.language,
        "role": scene.role,
        "concepts": ", ".join(concept.name for concept in scene.concepts.all()),
    }


class CheckpointForm(forms.Form):
    prompt = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 2}))
    explanation = forms.CharField(
        label=_("Explanation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown after the learner answers."),
    )
    concepts = forms.CharField(
        label=_("Concepts tested"),
        required=False,
        help_text=_("Separate with commas."),
        widget=forms.TextInput(attrs={"list": "concept-names", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for slot in range(1, CHECKPOINT_CHOICE_SLOTS + 1):
            self.fields[f"choice_{slot}"] = forms.CharField(
                label=_("Answer %(number)s") % {"number": slot}, max_length=300, required=False
            )
            self.fields[f"correct_{slot}"] = forms.BooleanField(label=_("Correct"), required=False)

    def choice_rows(self):
        """(text field, correct field) per answer slot, for the template."""
        return [
            (self[f"choice_{slot}"], self[f"correct_{slot}"])
            for slot in range(1, CHECKPOINT_CHOICE_SLOTS + 1)
        ]

    def clean_concepts(self) -> list[str]:
        return split_concept_names(self.cleaned_data.get("concepts", ""))

    def clean(self):
        cleaned = super().clean()
        choices = []
        for slot in range(1, CHECKPOINT_CHOICE_SLOTS + 1):
            text = (cleaned.get(f"choice_{slot}") or "").strip()
            if text:
                choices.append((text, bool(cleaned.get(f"correct_{slot}"))))
            elif cleaned.get(f"correct_{slot}"):
                self.add_error(f"choice_{slot}", _("A correct answer needs some text."))
        if len(choices) < 2:
            raise forms.ValidationError(_("Give at least two answers."))
        if not any(correct for _text, correct in choices):
            raise forms.ValidationError(_("Mark at least one answer as correct."))
        cleaned["choices"] = choices
        return cleaned


def checkpoint_initial(checkpoint) -> dict:
    initial = {
        "prompt": checkpoint.prompt,
        "explanation": checkpoint.explanation,
        "concepts": ", ".join(concept.name for concept in checkpoint.concepts.all()),
    }
    for slot, choice in enumerate(checkpoint.choices.all()[:CHECKPOINT_CHOICE_SLOTS], start=1):
        initial[f"choice_{slot}"] = choice.text
        initial[f"correct_{slot}"] = choice.is_correct
    return initial


SIZE_LABELS = {
    "tiny": _("Quick check (256×144)"),
    "small": _("Small (640×360)"),
    "hd": _("HD (1280×720)"),
    "full-hd": _("Full HD (1920×1080)"),
}
QUALITY_LABELS = {"draft": _("Draft"), "standard": _("Standard"), "high": _("High")}


VOICE_RATE_STEP = 0.05


def voice_key(engine: str, voice: str) -> str:
    """A voice as one form value, "engine:voice" ("" for the site's default)."""
    return f"{engine}:{voice}" if engine else ""


class VoiceForm(forms.Form):
    """A version's narration voice: one that speaks its language here, and a speaking rate.

    A submission without the fields (the "Try again" button) keeps the version's voice.
    """

    voice = forms.ChoiceField(label=_("Voice"), required=False)
    rate = forms.FloatField(
        label=_("Speaking rate"),
        min_value=VOICE_RATE_MIN,
        max_value=VOICE_RATE_MAX,
        step_size=VOICE_RATE_STEP,
        required=False,
        help_text=_("1 is the voice's normal speed."),
    )

    def __init__(self, *args, version, **kwargs):
        self.version = version
        self.current_voice = voice_key(version.voice_engine, version.voice_name)
        kwargs.setdefault("initial", {"voice": self.current_voice, "rate": version.voice_rate})
        super().__init__(*args, **kwargs)
        choices = [("", _("Automatic (site default)"))]
        for choice in language_voices(version.language):
            label = voice_label(choice.engine, choice.voice)
            if choice.online:
                label = _("%(voice)s (needs internet)") % {"voice": label}
            choices.append((voice_key(choice.engine, choice.voice), label))
        if self.current_voice and self.current_voice not in dict(choices):
            # Chosen when it worked; kept selectable so saving the form does not drop it.
            label = voice_label(version.voice_engine, version.voice_name)
            choices.append(
                (self.current_voice, _("%(voice)s (not available now)") % {"voice": label})
            )
        self.fields["voice"].choices = choices
        self.fields["voice"].help_text = _("Voices that speak %(language)s on this server.") % {
            "language": version.get_language_display()
        }

    def clean(self):
        cleaned = super().clean()
        if "voice" not in self.data:
            cleaned["voice"] = self.current_voice
        if "rate" not in self.errors and cleaned.get("rate") is None:
            cleaned["rate"] = self.version.voice_rate
        return cleaned

    @property
    def voice_choice(self) -> dict:
        """The cleaned choice as engine, voice and rate (blank engine: the site's default)."""
        engine, _sep, voice = self.cleaned_data["voice"].partition(":")
        return {"engine": engine, "voice": voice, "rate": self.cleaned_data["rate"]}


class RenderForm(VoiceForm):
    size = forms.ChoiceField(
        label=_("Video size"),
        choices=[(key, SIZE_LABELS[key]) for key in RENDER_SIZES],
        initial="hd",
    )
    quality = forms.ChoiceField(
        label=_("Quality"),
        choices=[(key, QUALITY_LABELS[key]) for key in RENDER_QUALITIES],
        initial="standard",
    )
    field_order = ["size", "quality", "voice", "rate"]

    def __init__(self, *args, version, **kwargs):
        super().__init__(*args, version=version, **kwargs)
        for name in ("voice", "rate"):
            self.fields[name].widget.attrs["aria-describedby"] = "voice-help"
        if version.status != VersionStatus.DRAFT:
            for name in ("voice", "rate"):
                self.fields[name].disabled = True
            self.fields["voice"].help_text = _(
                "This version is no longer a draft, so it keeps its voice."
            )


class NarrationPreviewForm(forms.Form):
    narration = forms.CharField(required=False, max_length=5000)
    language = forms.ChoiceField(choices=Language.choices, required=False)
