"""The openai-whisper engine (PyTorch, float32 on the CPU): the reference implementation.

It runs the same weights as faster-whisper: a CTranslate2 model (tiny.en, base, or a model
directory) is converted once to an openai-whisper checkpoint (convert.py); a path to a
.pt checkpoint is loaded as it is. Decoding matches faster.py: temperature 0 without
fallback, no conditioning on the previous window, word timestamps, and the same Silero VAD
filter as faster-whisper when `vad_filter` is set (speech chunks concatenated, times mapped
back), so both engines hear the same audio.

Extra [openai]: openai-whisper (installed without triton, which only serves CUDA) and torch.
"""
from __future__ import annotations

import base64
import dataclasses
import functools
import gzip
import os
from pathlib import Path

import numpy as np
import torch
import whisper
from whisper.audio import N_FRAMES, N_SAMPLES, log_mel_spectrogram, pad_or_trim

from ..errors import ArchiverError
from ..models import Segment, Word
from . import EngineResult, TranscribeOptions
from .convert import convert
from .models import bundled_model_path

SAMPLE_RATE = 16000


def alignment_heads_dump(heads: list[list[int]], n_layer: int, n_head: int) -> bytes:
    """The (layer, head) pairs in the form `Whisper.set_alignment_heads` takes (base85 of a gzipped bool mask)."""
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def load_checkpoint(path: str | Path) -> whisper.Whisper:
    """whisper.load_model(path) on the CPU, then the alignment heads stored with a converted checkpoint.

    load_model sets alignment heads only for the official names; for a file it keeps the
    default (every head of the last half of the decoder), which gives worse word timings.
    """
    model = whisper.load_model(str(path), device="cpu")
    heads = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True).get("alignment_heads")
    if heads:
        model.set_alignment_heads(alignment_heads_dump(heads, model.dims.n_text_layer, model.dims.n_text_head))
    return model.float().eval()


def checkpoint_for(name: str) -> Path | None:
    """The openai-whisper checkpoint for a model name, converting CTranslate2 weights on first use;
    None for a name only openai-whisper's own downloader knows."""
    expanded = Path(os.path.expanduser(name))
    if name.endswith(".pt") or expanded.is_file():
        if not expanded.is_file():
            raise ArchiverError(f"no checkpoint at {name}")
        return expanded
    if bundled_model_path(name) is not None or expanded.is_dir():
        return convert(name)
    return None


@functools.cache
def load_model(name: str) -> whisper.Whisper:
    try:
        checkpoint = checkpoint_for(name)
        if checkpoint is not None:
            return load_checkpoint(checkpoint)
        if name in whisper.available_models():  # openai's own download (needs the network)
            return whisper.load_model(name, device="cpu").float().eval()
    except ArchiverError:
        raise
    except Exception as e:  # a missing or broken model gives many exception types, all the same to the user
        raise ArchiverError(f"cannot load model {name!r} with openai-whisper ({e}); see `archiver models list`") from e
    raise ArchiverError(f"unknown model {name!r} for openai-whisper; see `archiver models list`")


class NoRepeatNGram:
    """openai-whisper logit filter: forbid a token that would repeat an n-gram already in the
    window's tokens, as CTranslate2's `no_repeat_ngram_size` does for faster-whisper."""

    def __init__(self, n: int):
        self.n = n

    def apply(self, logits: torch.Tensor, tokens: torch.Tensor) -> None:
        n = self.n
        if tokens.shape[1] < n:
            return
        for row, seq in enumerate(tokens.tolist()):
            prefix = seq[len(seq) - n + 1:]
            banned = {seq[i + n - 1] for i in range(len(seq) - n + 1) if seq[i:i + n - 1] == prefix}
            if banned:
                logits[row, list(banned)] = -np.inf


def _decoder(model: whisper.Whisper, no_repeat_ngram_size: int):
    """model.decode with the n-gram filter added, bound to this model only (transcribe calls model.decode)."""
    from whisper.decoding import DecodingTask

    def decode(mel: torch.Tensor, options, **kwargs):
        if single := mel.ndim == 2:
            mel = mel.unsqueeze(0)
        if kwargs:
            options = dataclasses.replace(options, **kwargs)
        task = DecodingTask(model, options)
        task.logit_filters.insert(0, NoRepeatNGram(no_repeat_ngram_size))
        result = task.run(mel)
        return result[0] if single else result

    return decode


class _Decoding:
    """The model as whisper.transcribe sees it, with its own `decode`: the cached model is
    shared, so the filter is not set on it."""

    def __init__(self, model: whisper.Whisper, decode):
        self._model = model
        self.decode = decode

    def __getattr__(self, name: str):
        return getattr(self._model, name)

    def __call__(self, *args, **kwargs):
        return self._model(*args, **kwargs)


def _speech_chunks(audio: np.ndarray) -> list[dict] | None:
    """faster-whisper's own VAD pass (its default options), so both engines drop the same silences."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return get_speech_timestamps(audio, VadOptions())


class _TimeMap:
    """Times in the concatenated speech -> times in the original audio (faster-whisper's rule:
    a word's start and end move with the chunk its middle falls in)."""

    def __init__(self, chunks: list[dict]):
        from faster_whisper.vad import SpeechTimestampsMap

        self.map = SpeechTimestampsMap(chunks, SAMPLE_RATE)

    def word(self, start: float, end: float) -> tuple[float, float]:
        index = self.map.get_chunk_index((start + end) / 2)
        return self.map.get_original_time(start, index), self.map.get_original_time(end, index)

    def segment(self, start: float, end: float) -> tuple[float, float]:
        return self.map.get_original_time(start), self.map.get_original_time(end, is_end=True)


def detect_language(model: whisper.Whisper, audio: np.ndarray) -> tuple[str, float]:
    """(language, probability) from the first 30 s, as openai-whisper's transcribe detects it."""
    if not model.is_multilingual:
        return "en", 1.0
    mel = log_mel_spectrogram(torch.from_numpy(audio[:N_SAMPLES]), model.dims.n_mels, padding=N_SAMPLES)
    _, probs = model.detect_language(pad_or_trim(mel, N_FRAMES).to(model.device))
    language = max(probs, key=probs.get)
    return language, float(probs[language])


def run(audio: np.ndarray, options: TranscribeOptions) -> EngineResult:
    torch.set_num_threads(options.cpu_threads or os.cpu_count() or 1)
    # oneDNN builds its kernels for each new input shape, and the decoder's key/value cache grows
    # a token at a time: the first transcription of each process spent 10-45 s of CPU on it (tiny.en,
    # beam 5, 14-40 s of speech; the second one then ran at the speed it always runs without oneDNN,
    # with the same words). PyTorch's own CPU kernels do the same float32 arithmetic, from the start.
    torch.backends.mkldnn.enabled = False
    model = load_model(options.model)
    if options.language and not model.is_multilingual and options.language != "en":
        raise ArchiverError(f"model {options.model} is English-only; use a multilingual model for {options.language!r}")
    audio = np.ascontiguousarray(audio, dtype=np.float32)

    time_map = None
    if options.vad_filter and len(audio):
        chunks = _speech_chunks(audio)
        if not chunks:  # no speech at all: what faster-whisper returns for silence
            language, probability = (options.language, 1.0) if options.language else detect_language(model, audio)
            return EngineResult([], language, probability)
        audio = np.concatenate([audio[c["start"]:c["end"]] for c in chunks])
        time_map = _TimeMap(chunks)

    if options.language:
        language, probability = options.language, 1.0
    else:
        language, probability = detect_language(model, audio)

    no_repeat = options.no_repeat_ngram_size
    with torch.inference_mode():
        result = whisper.transcribe(
            _Decoding(model, _decoder(model, no_repeat)) if no_repeat > 0 else model,
            torch.from_numpy(audio),
            language=language,
            task=options.task,
            initial_prompt=options.prompt or None,
            carry_initial_prompt=bool(options.prompt),  # in every window, as faster-whisper's hotwords
            beam_size=options.beam_size if options.beam_size > 1 else None,
            best_of=None,
            temperature=0.0,  # deterministic: the fallback temperatures gave different text per run
            condition_on_previous_text=False,
            word_timestamps=True,
            fp16=False,
            verbose=None,
        )

    segments = []
    for s in result["segments"]:
        words = []
        for w in s.get("words") or []:
            start, end = time_map.word(w["start"], w["end"]) if time_map else (w["start"], w["end"])
            words.append(Word(round(float(start), 3), round(float(end), 3), w["word"], round(float(w["probability"]), 4)))
        if time_map and words:  # as faster-whisper restores a segment's times after VAD
            start, end = words[0].start, words[-1].end
        elif time_map:
            start, end = time_map.segment(s["start"], s["end"])
        else:
            start, end = s["start"], s["end"]
        segments.append(Segment(start=round(float(start), 3), end=round(float(end), 3), text=s["text"].strip(),
                                words=words))
    return EngineResult(segments, language, probability)
