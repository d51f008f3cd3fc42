"""Errors the pipeline raises; each message names the scene or file a user must fix."""


class SynthesisError(Exception):
    """Base class: a render or import that cannot go on."""


class LessonImportError(SynthesisError):
    """The lesson material cannot be turned into a storyboard."""


class SpeechError(SynthesisError):
    """No configured engine could speak a sentence."""


class RenderCancelled(SynthesisError):
    """The caller asked to stop."""
