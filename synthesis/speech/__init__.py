"""Narration: one interface over several TTS engines, with fallback and an audio cache.

`speak()` turns one sentence into a trimmed, loudness-normalised mono 48 kHz WAV using the
first engine in `VoiceSettings.engines` that speaks the language and works here;
`engine_status()` says which engines can run, for the health check.
"""

from .fallback import ENGINES, SpokenSentence, VoiceChoice, engine_status, speak, voice_choices

__all__ = ["ENGINES", "SpokenSentence", "VoiceChoice", "engine_status", "speak", "voice_choices"]
