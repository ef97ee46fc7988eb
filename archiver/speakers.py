"""Who is speaking: speaker diarization, the stage after transcription.

1. Speech is cut into tiles of TILE seconds (the span of one Resemblyzer partial utterance;
   shorter where the speech is), never across a pause: the tiles lie inside the VAD speech regions that the
   transcript keeps, and only where the transcript has words (music and noise that the
   VAD let through never become a speaker).
2. Each tile, brought to Resemblyzer's level (-30 dBFS), is embedded by Resemblyzer's voice
   encoder (a d-vector LSTM trained with the GE2E loss; its weights ship in the PyPI
   package), converted once with torch to ONNX and run by ONNX Runtime, all tiles in one batch.
3. The tiles of at least CLUSTER_MIN seconds are clustered by SciPy's agglomerative
   clustering (average linkage on cosine distance) cut at a distance threshold, so the number
   of speakers comes from the voices and one voice stays one speaker. A cluster with less
   than MIN_SPEAKER seconds of speech joins its nearest neighbour; then every tile, short
   ones included, goes to its nearest cluster centre (a few rounds, centres recomputed).
4. Each word takes the speaker of the tiles it overlaps (by overlap), so a Whisper segment
   that spans a change of speaker is split there; speakers are numbered S1, S2, ... in the
   order they first speak.

Only this module imports resemblyzer, torch and onnx (lazily, and only to convert the
encoder once): they come with the extra [speakers]. Names are the user's, not the engine's: they live beside the transcript
(pipeline.name_speaker), so a re-transcription keeps them.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import threading
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .errors import ArchiverError
from .models import Segment, Transcript, Word

METHOD = "resemblyzer-0.1.4-onnx-tiles1.6-every-other-average.2"  # bump when the output would change
RATE = 16000
TILE = 1.6  # seconds: Resemblyzer's partial utterance
FRAMES = 160  # its mel frames
CLUSTER_MIN = 1.0  # seconds: shorter tiles are too noisy to found a speaker; they join one
MAX_FOUNDERS = 4000  # tiles clustered at most (about 1.8 hours of speech); the others join the nearest
LEVEL_DBFS = -30.0  # Resemblyzer's own preprocessing level (audio.normalize_volume)
MISSING_NOTE = ("speakers: not diarized (the extra [speakers] is not installed: "
                "pip install 'transcript-archiver[speakers]')")


@dataclass(frozen=True)
class DiarizeOptions:
    # Cosine distance at which average-linkage clustering stops merging tiles (tuned on real
    # readings, benchmarks/quote.py): tiles of one voice sit closer, two voices further apart.
    threshold: float = 0.35
    min_speaker: float = 4.0  # seconds of speech below which a cluster is not a speaker of its own

    def key(self, transcript: Transcript) -> str:
        """The cache key: the transcript (media sha256, engine, model, decoding) and these options."""
        blob = json.dumps([transcript.cache_key, METHOD, self.threshold, self.min_speaker], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


# ---------------------------------------------------------------- is it on?


def installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("resemblyzer", "torch", "onnx", "onnxruntime"))


def wanted(setting: object) -> tuple[bool, str | None]:
    """(diarize?, a note for the add report) from config `[transcribe] diarize` ("auto",
    true or false) or --no-diarize. "auto" means on when the extra is installed."""
    value = str(setting).strip().lower()
    if value in ("false", "off", "no", "0"):
        return False, None
    if value not in ("auto", "true", "on", "yes", "1"):
        raise ArchiverError(f"config [transcribe] diarize = {setting!r}: use \"auto\", true or false")
    if installed():
        return True, None
    if value == "auto":
        return False, MISSING_NOTE
    raise ArchiverError("diarization needs the extra [speakers]: pip install 'transcript-archiver[speakers]' "
                        "(or set [transcribe] diarize = false, or add --no-diarize)")


# ---------------------------------------------------------------- the voice encoder

_LOADING = threading.Lock()


def load_encoder():
    """Resemblyzer's voice encoder as an ONNX Runtime session, loaded once per process (two
    transcription threads share it)."""
    with _LOADING:
        return _load_encoder()


@functools.cache
def _load_encoder():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    return onnxruntime.InferenceSession(str(encoder_onnx()), options, providers=["CPUExecutionProvider"])


def encoder_onnx() -> Path:
    """Resemblyzer's weights (pretrained.pt in its package) converted once to ONNX, in the user
    cache, keyed by the weights' sha256. ONNX Runtime, which faster-whisper's VAD has loaded
    already, runs the LSTM about 8 times faster than torch on the CPU, and an `add` then
    never imports torch (seconds of its own): torch runs only for this one conversion.
    The conversion is exact (outputs equal to 1e-6; tests/test_speakers.py)."""
    from .store.files import atomic_write_bytes, sha256_file
    from .transcribe.models import cache_dir

    spec = importlib.util.find_spec("resemblyzer")
    weights = Path(spec.origin).parent / "pretrained.pt"
    target = cache_dir() / "speakers" / f"resemblyzer-{sha256_file(weights)[:16]}.onnx"
    if not target.exists():
        atomic_write_bytes(target, convert(weights))
    return target


def convert(weights: Path) -> bytes:
    import io

    with warnings.catch_warnings():  # webrtcvad (imported by resemblyzer) warns about pkg_resources
        warnings.simplefilter("ignore")
        import torch
        from resemblyzer import VoiceEncoder

        encoder = VoiceEncoder("cpu", verbose=False, weights_fpath=weights).eval()
        out = io.BytesIO()
        torch.onnx.export(encoder, (torch.zeros(1, FRAMES, N_MELS),), out, input_names=["mels"],
                          output_names=["embeddings"], dynamic_axes={"mels": {0: "tiles"}, "embeddings": {0: "tiles"}},
                          opset_version=17, dynamo=False)
    return out.getvalue()


def prepare() -> None:
    """Load the encoder in the background (the first time, convert it) while transcription runs.

    Not a daemon thread: a run that ends early (a damaged model, a bad input) waits for the
    load to finish, where the interpreter shutting down under ONNX Runtime's constructor
    aborted the process ("terminate called without an active exception", exit -6)."""
    threading.Thread(target=load_encoder, name="speakers-load").start()


def embed(audio: np.ndarray, tiles: list[tuple[float, float]]) -> np.ndarray:
    """One L2-normed 256-d voice embedding per tile (start, end in seconds). Every tile goes in
    as FRAMES mel frames, a shorter one after zeros (so the LSTM's last state is its speech).
    The mel spectrogram is computed once for the whole audio and each tile's frames scaled to
    Resemblyzer's level (a power spectrum scales with the square of the gain)."""
    mel = mel_frames(audio)
    batch = np.zeros((len(tiles), FRAMES, N_MELS), np.float32)
    for i, (a, b) in enumerate(tiles):
        first, last = int(a * RATE), int(b * RATE)
        frames = mel[first // HOP: first // HOP + min(FRAMES, 1 + (last - first) // HOP)]
        batch[i, FRAMES - len(frames):] = frames * _gain(audio[first:last]) ** 2
    return load_encoder().run(None, {"mels": batch})[0]


N_FFT, HOP, N_MELS = 400, 160, 40  # Resemblyzer's hparams: 25 ms windows every 10 ms, 40 mel bands


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """What resemblyzer.audio.wav_to_mel_spectrogram computes (librosa's power mel spectrogram:
    periodic Hann window, frames centred with zero padding), in numpy: librosa.feature's
    imports (scipy.signal and more) cost more than the whole computation. Shape (frames, 40),
    float32; tests/test_speakers.py checks it against librosa."""
    padded = np.pad(wav.astype(np.float32), N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (power @ _mel_filters().T).astype(np.float32)


@functools.cache
def _mel_filters() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): Slaney's mel scale and area normalization."""
    def mel(hz):
        hz = np.asarray(hz, float)
        return np.where(hz >= 1000, 15 + np.log(np.maximum(hz, 1e-10) / 1000) / (np.log(6.4) / 27), hz / (200 / 3))

    def hz(m):
        return np.where(m >= 15, 1000 * np.exp(np.log(6.4) / 27 * (m - 15)), m * 200 / 3)

    edges = hz(np.linspace(mel(0.0), mel(RATE / 2), N_MELS + 2))
    bins = np.fft.rfftfreq(N_FFT, 1 / RATE)
    ramps = edges[:, None] - bins[None, :]
    lower = -ramps[:-2] / np.diff(edges)[:-1, None]
    upper = ramps[2:] / np.diff(edges)[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def _gain(wav: np.ndarray) -> float:
    """What brings `wav` to LEVEL_DBFS (RMS), as resemblyzer.audio.normalize_volume does."""
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2))) if len(wav) else 0.0
    return 1.0 if rms < 1e-6 else 10 ** (LEVEL_DBFS / 20) / rms


# ---------------------------------------------------------------- where to listen


def tiles_of(transcript: Transcript, duration: float) -> list[tuple[float, float]]:
    """Tiles of at most TILE seconds inside the speech regions that hold words."""
    words = [(w.start, w.end) for w in transcript.words if w.end > w.start]
    regions = [tuple(r) for r in transcript.speech] or _merge(words, gap=0.3)
    out = []
    for start, end in regions:
        start, end = max(0.0, start), min(duration, end)
        if end - start < 0.3 or not any(a < end and b > start for a, b in words):
            continue
        if end - start <= TILE:
            out.append((round(start, 3), round(end, 3)))
            continue
        # tiles of exactly TILE spread from edge to edge; of a long stretch of speech without a
        # pause every other one (the edges always): one voice rarely changes without a pause,
        # the words between take the nearest tile's speaker, and the encoder's work is nearly halved
        n = int(np.ceil((end - start) / TILE - 1e-9))
        keep = sorted(set(range(0, n, 2)) | {n - 1})
        out += [(round(a, 3), round(a + TILE, 3)) for a in np.linspace(start, end - TILE, n)[keep]]
    return out


def _merge(spans: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a - out[-1][1] <= gap:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


# ---------------------------------------------------------------- who is who


def cluster(embeddings: np.ndarray, seconds: np.ndarray, options: DiarizeOptions) -> np.ndarray:
    """A speaker number per tile (0, 1, ...; not yet in order of appearance)."""
    n = len(embeddings)
    if n < 2:
        return np.zeros(n, int)
    from scipy.cluster.hierarchy import fcluster, linkage

    founders = np.flatnonzero(seconds >= CLUSTER_MIN)
    if len(founders) < 2:
        founders = np.arange(n)
    if len(founders) > MAX_FOUNDERS:  # the distance matrix grows with the square: hours of speech, evenly sampled
        founders = founders[np.linspace(0, len(founders) - 1, MAX_FOUNDERS).astype(int)]
    tree = linkage(embeddings[founders], method="average", metric="cosine")
    labels = fcluster(tree, t=options.threshold, criterion="distance") - 1
    centres = _centres(embeddings[founders], seconds[founders], labels)
    for _ in range(6):  # every tile to its nearest centre; a cluster too small to be a speaker dissolves
        labels = np.argmax(embeddings @ centres.T, axis=1)
        totals = np.bincount(labels, weights=seconds, minlength=len(centres))
        small = totals < min(options.min_speaker, totals.max())
        if small.any():
            centres = centres[~small]
            continue
        moved = _centres(embeddings, seconds, labels)
        if moved.shape == centres.shape and np.allclose(moved, centres):
            break
        centres = moved
    return np.argmax(embeddings @ centres.T, axis=1)


def _centres(embeddings: np.ndarray, seconds: np.ndarray, labels: np.ndarray) -> np.ndarray:
    k = int(labels.max()) + 1
    centres = np.zeros((k, embeddings.shape[1]))
    np.add.at(centres, labels, embeddings * seconds[:, None])
    used = np.linalg.norm(centres, axis=1) > 0
    centres = centres[used]
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def word_speakers(words: list[Word], tiles: list[tuple[float, float]], labels: np.ndarray) -> list[int]:
    """Each word's speaker: the tiles it overlaps vote by overlap; a word between tiles takes
    the nearest tile's."""
    starts = np.array([a for a, _ in tiles])
    ends = np.array([b for _, b in tiles])
    k = int(labels.max()) + 1 if len(labels) else 1
    out = []
    for w in words:
        overlap = np.clip(np.minimum(ends, w.end) - np.maximum(starts, w.start), 0, None)
        if overlap.sum() > 0:
            out.append(int(np.argmax(np.bincount(labels, weights=overlap, minlength=k))))
        else:
            middle = (w.start + w.end) / 2
            out.append(int(labels[np.argmin(np.abs((starts + ends) / 2 - middle))]))
    return out


# ---------------------------------------------------------------- the stage


@dataclass
class Diarization:
    words: list[str]  # "S1", "S2", ... per transcript word, in order
    seconds: float
    tiles: int


def diarize(audio: np.ndarray, transcript: Transcript, options: DiarizeOptions | None = None) -> Diarization:
    """The speaker of every word of `transcript` (16 kHz mono `audio`)."""
    options = options or DiarizeOptions()
    started = time.perf_counter()
    words = transcript.words
    tiles = tiles_of(transcript, len(audio) / RATE)
    if not words:
        return Diarization([], 0.0, 0)
    if len(tiles) < 2:
        return Diarization(["S1"] * len(words), round(time.perf_counter() - started, 3), len(tiles))
    embeddings = embed(audio, tiles)
    seconds = np.array([b - a for a, b in tiles])
    numbers = word_speakers(words, tiles, cluster(embeddings, seconds, options))
    order: dict[int, str] = {}
    for n in numbers:  # S1 is whoever speaks first
        order.setdefault(n, f"S{len(order) + 1}")
    return Diarization([order[n] for n in numbers], round(time.perf_counter() - started, 3), len(tiles))


def apply(transcript: Transcript, diarization: Diarization, key: str) -> Transcript:
    """The transcript with a speaker on every word, its segments split where the speaker changes."""
    labels = iter(diarization.words)
    segments: list[Segment] = []
    for segment in transcript.segments:
        words = [replace(w, speaker=next(labels)) for w in segment.words]
        segments += split(segment, words)
    speakers = len(set(diarization.words))
    return replace(transcript, segments=segments, diarization={
        "key": key, "method": METHOD, "speakers": speakers, "seconds": diarization.seconds,
        "tiles": diarization.tiles})


def split(segment: Segment, words: list[Word]) -> list[Segment]:
    """One segment per run of words of one speaker; the outer pieces keep the segment's edges."""
    if not words:
        return [replace(segment, speaker=segment.speaker)]
    runs: list[list[Word]] = [[words[0]]]
    for w in words[1:]:
        if w.speaker == runs[-1][-1].speaker:
            runs[-1].append(w)
        else:
            runs.append([w])
    if len(runs) == 1:
        return [replace(segment, words=words, speaker=words[0].speaker)]
    out = []
    for i, run in enumerate(runs):
        start = segment.start if i == 0 else run[0].start
        end = segment.end if i == len(runs) - 1 else run[-1].end
        out.append(Segment(start, end, "".join(w.word for w in run).strip(), run, run[0].speaker))
    return out


def speaker_seconds(segments: list[Segment]) -> dict[str, float]:
    """Seconds of speech per speaker, in order of first appearance."""
    out: dict[str, float] = {}
    for s in segments:
        if s.speaker:
            out[s.speaker] = out.get(s.speaker, 0.0) + (s.end - s.start)
    return {k: round(v, 1) for k, v in out.items()}
