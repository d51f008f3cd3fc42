"""ONNX Runtime sessions for the neural voices: one thread per call, no spinning.

Renders speak one sentence per core at once (synthesis.speech_pool), so each call gets one
thread; ONNX Runtime's default gives every call a spinning thread per core, which cost
Piper 1.6x the CPU for the same speech (bench/README.md, cold speech).
"""

from __future__ import annotations

import os
from pathlib import Path


def cpu_thrifty_session(model: Path):
    """An InferenceSession on CUDA where onnxruntime-gpu and LECTERN_DEVICE allow, else CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(
        str(model), sess_options=options, providers=_providers(onnxruntime)
    )


def _providers(onnxruntime) -> list[str]:
    # The onnxruntime-gpu wheel (README, GPU) offers CUDA; the CPU wheel only the CPU.
    wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if os.environ.get("LECTERN_DEVICE", "auto") not in ("auto", "cuda"):
        wanted = ["CPUExecutionProvider"]
    available = set(onnxruntime.get_available_providers())
    return [provider for provider in wanted if provider in available]
