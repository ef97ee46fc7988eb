"""Where someone speaks: Silero VAD (shipped with faster-whisper, runs offline), run so that
neither the recording's level nor a long stretch of music can hide speech from it.

- Silero hears every recording at the same level (LEVEL): it missed a whole LibriSpeech
  sentence 45 dB down that it finds at a usual level. Only the VAD hears the lifted copy;
  the decoder hears the recording as it is (Whisper's log-Mel features are scaled to their
  own maximum, and re-levelling speech that was fine changed its words by chance).
- Silero carries its recurrent state from one 32 ms window to the next; after 25 s of music
  that state stuck at "nobody speaks" for the rest of a file (probability 0.00 over a whole
  sentence that gets 0.93 when the same model starts 10 s before it). So it runs on PIECE-second
  pieces, each from a fresh state that has first heard the WARM seconds before the piece.
"""
from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
WINDOW = 512  # samples per Silero probability (32 ms)
PIECE = 10.0  # seconds of audio per fresh-state run
WARM = 1.0  # seconds heard before each piece, their probabilities dropped: the state settles
LEVEL = -20.0  # dB (level_of): the level the VAD hears every recording at
MAX_GAIN_DB = 50.0  # a near-silent file is not lifted into pure noise


def probabilities(audio: np.ndarray) -> np.ndarray:
    """Silero's speech probability for every WINDOW samples of `audio` (16 kHz mono)."""
    from faster_whisper.vad import get_vad_model

    from ..media import gain_to

    if len(audio) == 0:
        return np.zeros(0, np.float32)
    heard = np.clip(audio * gain_to(level_of(audio), LEVEL, MAX_GAIN_DB), -1.0, 1.0).astype(np.float32)
    heard = np.pad(heard, (0, -len(heard) % WINDOW))
    model = get_vad_model()
    piece, warm = int(PIECE * SAMPLE_RATE) // WINDOW * WINDOW, int(WARM * SAMPLE_RATE) // WINDOW * WINDOW
    out = []
    for start in range(0, len(heard), piece):
        before = min(warm, start)
        out.append(model(heard[start - before:start + piece]).reshape(-1)[before // WINDOW:])
    return np.concatenate(out)


def level_of(audio: np.ndarray) -> float:
    """The recording's level in dB: the RMS of its 400 ms blocks over -70 dBFS and within 10 dB
    of their mean, BS.1770's gating without its K-weighting (pyloudnorm's filters would cost a
    2-second scipy import on every add); -inf for silence."""
    block = SAMPLE_RATE * 4 // 10
    n = len(audio) // block
    if n == 0:
        return float("-inf")
    power = (audio[:n * block].astype(np.float64).reshape(n, block) ** 2).mean(axis=1)
    power = power[power > 10 ** (-70 / 10)]
    if not len(power):
        return float("-inf")
    power = power[power > power.mean() * 10 ** (-10 / 10)]
    return float(10 * np.log10(power.mean()))


def regions(probs: np.ndarray, threshold: float = 0.5, min_silence: float = 0.1,
            min_speech: float = 0.06) -> list[tuple[float, float]]:
    """Speech regions (seconds) from window probabilities, with Silero's own hysteresis: speech
    starts at a window >= threshold and ends where the probability stays under threshold - 0.15
    for `min_silence` seconds; regions shorter than `min_speech` are dropped."""
    step = WINDOW / SAMPLE_RATE
    out, start, quiet_since = [], None, None
    for i, p in enumerate(probs.tolist()):
        t = i * step
        if start is None:
            if p >= threshold:
                start, quiet_since = t, None
        elif p >= threshold:
            quiet_since = None
        elif p < threshold - 0.15:
            quiet_since = t if quiet_since is None else quiet_since
            if t - quiet_since >= min_silence:
                if quiet_since - start >= min_speech:
                    out.append((round(start, 3), round(quiet_since, 3)))
                start = None
    if start is not None:
        out.append((round(start, 3), round(len(probs) * step, 3)))
    return out


def speech_regions(audio: np.ndarray, threshold: float = 0.5) -> list[tuple[float, float]]:
    """Fine-grained speech regions (100 ms silences split them, no padding): the aligner snaps
    sentence edges to them, and the recovery of skipped speech looks for speech nobody heard."""
    return regions(probabilities(audio), threshold)


def carries_speech(channel: np.ndarray) -> bool:
    """Whether a channel holds half a second of speech (for the downmix: a speaker, not hiss)."""
    return sum(e - s for s, e in speech_regions(channel)) >= 0.5
