"""Configuration: the defaults in config.toml, overridden by ./archiver.toml or --config."""
from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

from .errors import ArchiverError

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "config.toml"

# Used when config.toml is not next to the package (an installed wheel).
FALLBACK: dict[str, Any] = {
    "archive": {"path": "./archive"},
    "transcribe": {
        "engine": "faster-whisper",
        "model": "auto",
        "compute_type": "int8",
        "beam_size": 5,
        "language": "",
        "cpu_threads": 0,
        "no_repeat_ngram_size": 3,
        "vad_filter": True,
        "loudness": True,
        "recover_speech": True,
        "diarize": "auto",
    },
    "align": {"threshold": 0.45, "snap_to_speech": True},
    "download": {"retries": 5, "timeout": 30, "max_filesize_mb": 4096},
    "search": {"limit": 10, "backend": "whoosh",
               "typesense": {"nodes": ["http://127.0.0.1:8108"], "api_key": "", "collection": "archiver",
                             "timeout": 5, "write_timeout": 300}},
    "cluster": {"scheduler": "", "connect_timeout": 5, "worker_timeout": 30},
    "evidence": {"capture": True, "key": "", "tsa": ""},
}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ArchiverError(f"cannot read config {path}: {e}; fix or remove the file") from e


def load(path: str | os.PathLike | None = None) -> dict[str, Any]:
    config = _merge(FALLBACK, _read(DEFAULTS_FILE)) if DEFAULTS_FILE.exists() else copy.deepcopy(FALLBACK)
    local = Path(path) if path else Path("archiver.toml")
    if path and not local.exists():
        raise ArchiverError(f"config file {local} does not exist")
    if local.exists():
        config = _merge(config, _read(local))
    return config
