"""Errors the pipeline raises; each message names the scene or file a user must fix."""


class SynthesisError(Exception):
    """Base class: a render or import that cannot go on."""


class LessonImportError(SynthesisError):
    """The lesson material cannot be turned into a storyboard."""


class SpeechError(SynthesisError):
    """No configured engine could speak a sentence."""


class TransientSpeechError(SpeechError):
    """No engine spoke a sentence, and at least one failed while trying (rather than being
    unavailable here): the failure may pass, so a render may retry later."""


class RenderCancelled(SynthesisError):
    """The caller asked to stop."""
