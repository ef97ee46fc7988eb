"""The faster-whisper engine (CTranslate2): the default."""
from __future__ import annotations

import functools
import os
import threading

import numpy as np

from ..errors import ArchiverError
from ..models import Segment, Word
from . import EngineResult, TranscribeOptions
from .models import resolve_ctranslate2


_LOADING = threading.Lock()  # a batch's two transcription threads must share one model, not load two


def load_model(name: str, compute_type: str, threads: int, workers: int = 1):
    with _LOADING:
        return _load_model(name, compute_type, threads, workers)


@functools.cache
def _load_model(name: str, compute_type: str, threads: int, workers: int):
    from faster_whisper import WhisperModel

    try:
        # faster-whisper's default of 4 threads is slower than one per core on a small machine
        return WhisperModel(resolve_ctranslate2(name), device="cpu", compute_type=compute_type, cpu_threads=threads,
                            num_workers=workers)
    except Exception as e:  # a missing model gives many exception types, all the same to the user
        raise ArchiverError(f"cannot load model {name!r} ({e}); see `archiver models list`") from e


def run(audio: np.ndarray, options: TranscribeOptions) -> EngineResult:
    threads = options.cpu_threads or os.cpu_count() or 1
    model = load_model(options.model, options.compute_type, threads, options.workers)
    if options.language and not model.model.is_multilingual and options.language != "en":
        raise ArchiverError(f"model {options.model} is English-only; use a multilingual model for {options.language!r}")
    segments, info = model.transcribe(
        audio,
        language=options.language,
        beam_size=options.beam_size,
        temperature=0.0,  # deterministic: the fallback temperatures gave different text per run
        condition_on_previous_text=False,
        word_timestamps=True,
        vad_filter=options.vad_filter,
        no_repeat_ngram_size=options.no_repeat_ngram_size,
        hotwords=options.prompt or None,
        task=options.task,
    )
    out = [
        Segment(
            start=round(s.start, 3),
            end=round(s.end, 3),
            text=s.text.strip(),
            words=[Word(round(w.start, 3), round(w.end, 3), w.word, round(w.probability, 4)) for w in s.words or []],
        )
        for s in segments
    ]
    return EngineResult(out, info.language, info.language_probability)
