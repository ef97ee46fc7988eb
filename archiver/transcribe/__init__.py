"""Speech to text. The only package that imports a speech engine.

`transcribe(audio, options)` returns a Transcript whatever the engine; engines live one per
module (faster.py, openai.py) and are loaded lazily, so importing this package is cheap.
"""
from __future__ import annotations

import bisect
import functools
import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import ArchiverError
from ..models import Segment, Transcript, TranslatedSegment, Translation, Word

ENGINES = ("faster-whisper", "openai-whisper")
AUTO = "auto"  # the model: English speech to ENGLISH_MODEL, any other language to MULTILINGUAL_MODEL
ENGLISH_MODEL, MULTILINGUAL_MODEL = "tiny.en", "base"
# Bump when the audio preparation or the recovery of VAD-skipped speech changes the text.
AUDIO_PIPELINE = "channels-to-loudest-r128-one-sound-as-is.4"
RECOVERY = "silero-10s-pieces-warm-1s-0.2-unheard-min1s.4"


@dataclass(frozen=True)
class TranscribeOptions:
    engine: str = "faster-whisper"
    model: str = AUTO
    compute_type: str = "int8"
    beam_size: int = 5
    language: str | None = None  # None: detect
    cpu_threads: int = 0  # 0: one per core
    workers: int = 1  # transcriptions that may run at once on one loaded model (batches)
    vad_filter: bool = True  # skip long silences (faster, and no text invented over music)
    # Whisper tiny loops ("la la la ...") on robotic voices; forbidding a repeated 3-gram
    # stopped it and cut word error rate from 58% to 17% on such a narration (never worse elsewhere).
    no_repeat_ngram_size: int = 3
    loudness: bool = True  # each channel to the loudest before the downmix (media.load_audio)
    recover_speech: bool = True  # decode again what the VAD skipped when it carries speech
    # Words the decoder should expect (the article's proper nouns, archiver/names.py): faster-whisper's
    # `hotwords` (in every 30 s window), openai-whisper's `initial_prompt` carried to every window.
    prompt: str = ""
    task: str = "transcribe"  # or "translate": English text from the multilingual model

    @classmethod
    def from_config(cls, section: dict[str, Any], **overrides: Any) -> TranscribeOptions:
        values = {k: v for k, v in section.items() if k in cls.__dataclass_fields__}
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["language"] = values.get("language") or None
        return cls(**values)

    def decoding(self) -> dict[str, Any]:
        """The options that change the text, recorded in the transcript and its cache key."""
        options = {"beam_size": self.beam_size, "language": self.language, "compute_type": self.compute_type,
                   "vad_filter": self.vad_filter, "no_repeat_ngram_size": self.no_repeat_ngram_size,
                   "temperature": 0.0, "condition_on_previous_text": False,
                   "audio": AUDIO_PIPELINE if self.loudness else "plain-downmix",
                   "recover_speech": RECOVERY if self.recover_speech and self.vad_filter else None}
        # only when set, so that the keys of transcripts made before prompts existed stay valid
        if self.prompt:
            options["prompt"] = self.prompt
        if self.task != "transcribe":
            options["task"] = self.task
        return options

    def cache_key(self, media_sha256: str) -> str:
        """The key of a transcript made with exactly these options (the model resolved)."""
        blob = json.dumps([media_sha256, self.engine, self.model, self.decoding()], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class EngineResult:
    segments: list[Segment]
    language: str
    language_probability: float
    extra: dict[str, Any] = field(default_factory=dict)


def _engine(name: str) -> Callable[[np.ndarray, TranscribeOptions], EngineResult]:
    if name == "faster-whisper":
        from .faster import run
        return run
    if name == "openai-whisper":
        try:
            from .openai import run
        except ImportError as e:
            raise ArchiverError("the openai-whisper engine is not installed: pip install 'transcript-archiver[openai]'") from e
        return run
    raise ArchiverError(f"unknown engine {name!r}: use one of {', '.join(ENGINES)}")


def decoder_regions(audio: np.ndarray) -> list[tuple[float, float]]:
    """What faster-whisper's own VAD filter keeps for decoding (its default VadOptions)."""
    from faster_whisper.vad import get_speech_timestamps

    return [(c["start"] / 16000, c["end"] / 16000) for c in get_speech_timestamps(audio)] if len(audio) else []


ENGINE_PACKAGES = {"faster-whisper": ("faster-whisper", "ctranslate2"), "openai-whisper": ("openai-whisper", "torch")}


def weights_file(options: TranscribeOptions) -> Path | None:
    """The file holding the model's weights, to record its sha256 (None: not on this machine)."""
    if options.engine == "openai-whisper":
        from .openai import checkpoint_for

        return checkpoint_for(options.model)
    from .models import resolve_ctranslate2

    directory = Path(resolve_ctranslate2(options.model))
    return directory / "model.bin" if (directory / "model.bin").is_file() else None


@functools.cache
def _weights_sha256(path: Path, size: int, mtime_ns: int) -> str:
    from ..store.files import sha256_file

    return sha256_file(path)


def made_by(audio: np.ndarray, options: TranscribeOptions, started_at: str) -> dict[str, Any]:
    """The transcript's own provenance, taken where it runs (on a cluster worker: the worker's host)."""
    from ..fetch import utc_now
    from ..provenance import host, software

    weights = weights_file(options)
    stat = weights.stat() if weights else None
    return {"host": host(), "started_at": started_at, "finished_at": utc_now(),
            "software": software("transcript-archiver", *ENGINE_PACKAGES.get(options.engine, ())),
            "weights": {"path": str(weights), "sha256": _weights_sha256(weights, stat.st_size, stat.st_mtime_ns),
                        "bytes": stat.st_size} if weights else None,
            "audio_sha256": hashlib.sha256(audio.tobytes()).hexdigest(),
            "audio": {"sample_rate": 16000, "channels": 1, "format": "f32le", "samples": len(audio)}}


def heard_only(segments: list[Segment], speech: list[tuple[float, float]], margin: float = 0.3) -> list[Segment]:
    """The segments without the words whose middle lies outside every speech region (with a margin).

    A prompted decoder fills the silence after the last sentence with words of its prompt
    ("Baku, Karakalpakstan" over the closing second of a narration): a name the speech does not
    say. Unprompted transcripts are left as the engine made them."""
    starts = [a for a, _ in speech]
    out = []
    for segment in segments:
        words = [w for w in segment.words if _near_speech(w.start, w.end, speech, starts, margin)]
        if len(words) == len(segment.words) and words:
            out.append(segment)
        elif words:
            out.append(replace(segment, start=words[0].start, end=words[-1].end, words=words,
                               text="".join(w.word for w in words).strip()))
        elif not segment.words and _near_speech(segment.start, segment.end, speech, starts, margin):
            out.append(segment)
    return out


def _near_speech(start: float, end: float, speech: list[tuple[float, float]], starts: list[float],
                 margin: float) -> bool:
    """Whether the middle of start..end lies in a speech region (widened by the margin)."""
    middle = (start + end) / 2
    k = bisect.bisect_right(starts, middle + margin)
    return any(a - margin <= middle <= b + margin for a, b in speech[max(0, k - 2):k])


GAP = 0.5  # seconds of silence between the stretches decoded together


def decode_stretches(audio: np.ndarray, spans: list[tuple[float, float]], options: TranscribeOptions) -> list[list[Word]]:
    """The words of each stretch audio[start:end] (seconds), decoded together in one pass: the
    stretches laid end to end with GAP of silence between them (one encoder pass for up to 30 s,
    not one per stretch), times mapped back to the whole audio's clock. For the re-decodes of
    archiver/prompting.py. Without the VAD filter: the stretches are speech already, and VAD
    would drop their quiet edges."""
    pieces, offsets, clock = [], [], 0.0  # offsets: (start in the joined audio, end there, start in the original)
    gap = np.zeros(int(GAP * 16000), dtype=np.float32)
    for start, end in spans:
        first, last = max(0, int(start * 16000)), min(len(audio), int(end * 16000))
        piece = audio[first:max(first, last)]
        offsets.append((clock, clock + len(piece) / 16000, first / 16000))
        pieces += [piece, gap]
        clock += (len(piece) + len(gap)) / 16000
    out: list[list[Word]] = [[] for _ in spans]
    if not pieces or clock < 0.1 + GAP:
        return out
    result = _engine(options.engine)(np.concatenate(pieces), replace(options, vad_filter=False))
    for w in (w for s in result.segments for w in s.words):
        middle = (w.start + w.end) / 2
        for k, (a, b, origin) in enumerate(offsets):
            if a <= middle <= b:
                shift = origin - a
                out[k].append(Word(round(max(a, w.start) + shift, 3), round(min(b, w.end) + shift, 3), w.word,
                                   w.probability))
                break
    return out


def translation_options(options: TranscribeOptions, language: str) -> TranscribeOptions:
    """The options of the English track: Whisper's translate task on a multilingual model (the
    transcript's own, or the bundled `base` when it was English-only), the language the
    transcript found, no prompt (the article's spellings belong to the original speech)."""
    model = MULTILINGUAL_MODEL if options.model == AUTO or options.model.endswith(".en") else options.model
    return replace(options, model=model, task="translate", language=language, prompt="")


def translate(audio: np.ndarray, video_id: str, media_sha256: str, language: str,
              options: TranscribeOptions) -> Translation:
    """English text of speech in `language`, its segments timed on the original speech."""
    options = translation_options(options, language)
    started = time.perf_counter()
    result = _engine(options.engine)(audio, options)
    return Translation(video_id, "en", language, options.engine, options.model,
                       [TranslatedSegment(s.start, s.end, s.text) for s in result.segments if s.text],
                       key=options.cache_key(media_sha256), options=options.decoding(),
                       seconds=round(time.perf_counter() - started, 3))


def gaps(regions: list[tuple[float, float]], duration: float, at_least: float) -> list[tuple[float, float]]:
    """The stretches between `regions` (and before the first, after the last) of `at_least` seconds."""
    out, cursor = [], 0.0
    for start, end in regions + [(duration, duration)]:
        if start - cursor >= at_least:
            out.append((round(cursor, 3), round(start, 3)))
        cursor = max(cursor, end)
    return out


def transcribe(audio: np.ndarray, video_id: str, media_sha256: str, options: TranscribeOptions,
               article_language: str | None = None) -> Transcript:
    """Transcribe `audio`; with model "auto", choose the model first (transcribe.auto)."""
    from ..fetch import utc_now
    from . import vad
    from .auto import choose, confirm

    started_at = utc_now()
    started = time.perf_counter()
    probabilities = vad.probabilities(audio)
    speech = vad.regions(probabilities)
    request_key = options.cache_key(media_sha256)  # what was asked: model "auto", before the choice
    choice = choose(audio, speech, options, article_language)
    run = _engine(choice.options.engine)
    result = run(audio, choice.options)
    if choice.confirm:
        choice = confirm(choice, [w.probability for s in result.segments for w in s.words], audio, speech, options)
        if choice.options.model != ENGLISH_MODEL:
            result = run(audio, choice.options)
    options = choice.options
    skipped: dict[str, Any] = {}
    if options.vad_filter and options.recover_speech:
        skipped = recover_skipped_speech(audio, result, options, run, vad.regions(probabilities, LOW_THRESHOLD))
    if options.prompt:  # a prompted decoder writes prompt names into silence: keep what was heard
        result.segments = heard_only(result.segments, speech)
    return Transcript(
        video_id=video_id,
        engine=options.engine,
        model=options.model,
        language=result.language,
        language_probability=round(choice.probability if choice.probability is not None else result.language_probability, 4),
        duration=round(len(audio) / 16000, 3),
        segments=result.segments,
        options=options.decoding(),
        cache_key=options.cache_key(media_sha256),
        speech=speech,
        seconds=round(time.perf_counter() - started, 3),
        model_reason=choice.reason,
        request_key=request_key,
        vad=skipped,
        provenance=made_by(audio, options, started_at),
    )


MIN_SKIPPED = 1.0  # seconds: shorter stretches the decoder's VAD skipped are pauses
LOW_THRESHOLD = 0.2  # Silero probability that still counts as speech in a skipped stretch
PAD = 0.2  # seconds of context on each side of a stretch decoded again


def recover_skipped_speech(audio: np.ndarray, result: EngineResult, options: TranscribeOptions,
                           run: Callable[[np.ndarray, TranscribeOptions], EngineResult],
                           speech: list[tuple[float, float]]) -> dict[str, Any]:
    """Decode again the speech that has no words: skipped by the decoder's VAD filter, or kept
    by it but passed over by the decoder (Whisper sometimes ends a window early).

    The VAD may skip silence and music, never speech: every stretch of MIN_SKIPPED seconds of
    `speech` (Silero at a lower threshold, transcribe.vad) that no transcribed word covers is
    decoded without the filter. Only its words that overlap no word already heard are added
    to `result` (those of a confident segment, the segment's text rebuilt from them), so the
    first pass's words are never replaced or repeated. Returns what the filter removed and
    what was decoded again, for the transcript.
    """
    duration = len(audio) / 16000
    removed = gaps(decoder_regions(audio), duration, MIN_SKIPPED)
    heard = [(w.start - PAD, w.end + PAD) for s in result.segments for w in s.words]
    unheard = _merge(_subtract(speech, heard), within=0.5)
    taken = _merge(heard, within=0.0)
    plain = replace(options, vad_filter=False, language=options.language or result.language or None)
    redecoded, recovered = [], 0
    for start, end in (r for r in unheard if r[1] - r[0] >= MIN_SKIPPED):
        start, end = max(0.0, start - PAD), min(duration, end + PAD)
        segments = _offset(run(audio[int(start * 16000):int(end * 16000)], plain).segments, start)
        for segment in segments:  # only words nobody heard yet
            segment.words = [w for w in segment.words if not _overlaps(taken, w.start, w.end)]
            segment.text = "".join(w.word for w in segment.words).strip()
            if segment.words:
                segment.start, segment.end = segment.words[0].start, segment.words[-1].end
        segments = [s for s in segments if s.words and _mean_probability(s) >= 0.4]  # not a hallucination
        redecoded.append([round(start, 3), round(end, 3)])
        recovered += sum(len(s.words) for s in segments)
        result.segments.extend(segments)
    result.segments.sort(key=lambda s: s.start)
    return {"removed": [list(r) for r in removed], "removed_seconds": round(sum(e - s for s, e in removed), 3),
            "redecoded": redecoded, "recovered_words": recovered}


def _subtract(regions: list[tuple[float, float]], holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of `regions` (sorted) outside every hole, those over 50 ms; one sweep."""
    holes, out, k = _merge(holes, within=0.0), [], 0
    for start, end in regions:
        while k < len(holes) and holes[k][1] <= start:
            k += 1
        cursor, m = start, k
        while m < len(holes) and holes[m][0] < end:
            if holes[m][0] - cursor > 0.05:
                out.append((cursor, holes[m][0]))
            cursor, m = max(cursor, holes[m][1]), m + 1
        if end - cursor > 0.05:
            out.append((cursor, end))
    return out


def _overlaps(merged: list[tuple[float, float]], start: float, end: float) -> bool:
    """Whether [start, end) overlaps one of `merged` (sorted, disjoint)."""
    k = bisect.bisect_right(merged, (start, float("inf"))) - 1
    return (k >= 0 and merged[k][1] > start) or (k + 1 < len(merged) and merged[k + 1][0] < end)


def _merge(regions: list[tuple[float, float]], within: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for start, end in sorted(regions):
        if out and start - out[-1][1] <= within:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def _offset(segments: list[Segment], by: float) -> list[Segment]:
    from ..models import Word

    return [Segment(round(s.start + by, 3), round(s.end + by, 3), s.text,
                    [Word(round(w.start + by, 3), round(w.end + by, 3), w.word, w.probability) for w in s.words])
            for s in segments]


def _mean_probability(segment: Segment) -> float:
    return sum(w.probability for w in segment.words) / len(segment.words)
