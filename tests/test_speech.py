"""Speech that is all there: real recordings (tests/fixtures/real/recordings/) through the real CLI.

Stereo with one speaker per channel, quiet speech, the model chosen by language ("auto"),
`--model` / `--language` winning, the reason shown by `show` and `status`, and the cache key.
Short excerpts only: each test transcribes under 35 s of audio.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from archiver.media import decode_channels, ffmpeg_exe, load_audio, loudness_of
from archiver.transcribe import TranscribeOptions
from conftest import ROOT, run_json

RECORDINGS = ROOT / "tests" / "fixtures" / "real" / "recordings"
SOURCES = RECORDINGS / "sources"
JFK = SOURCES / "faster-whisper" / "jfk.opus"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """Float samples (n,) or (n, channels) at 16 kHz as a WAV file, through ffmpeg."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "f32le", "-ar", "16000", "-ac", str(channels),
                    "-i", "pipe:", str(path)], input=samples.astype(np.float32).tobytes(), check=True)
    return path


def archive_with(tmp_path: Path, media: Path, text: str, *options: str) -> tuple[Path, dict, dict]:
    """`add ARTICLE --video MEDIA`: (archive, show article, show video)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    archive = tmp_path / "archive"
    article = tmp_path / "article.txt"
    article.write_text(text + "\n", encoding="utf-8")
    report = run_json("add", str(article), "--video", str(media), *options, archive=archive)
    assert report["articles"][0]["status"] == "ok", report
    shown = run_json("show", report["articles"][0]["id"], archive=archive)
    video = run_json("show", shown["videos"][0]["id"], archive=archive)
    return archive, shown, video


def fleurs(lang: str, i: int) -> tuple[Path, str]:
    stem = SOURCES / "fleurs" / f"fleurs-{lang}-{i:03d}"
    text = stem.with_suffix(".txt").read_text(encoding="utf-8").strip()
    return stem.with_suffix(".ogg"), text[0].upper() + text[1:] + "."


def test_stereo_one_speaker_per_channel_both_transcribed_and_aligned(tmp_path):
    """The right speaker is 14 dB quieter in another room, and FLEURS recorded him 37 dB
    below the left one already: a plain downmix loses him to the VAD."""
    item = RECORDINGS / "en-stereo"
    truth = json.loads((item / "truth.json").read_text(encoding="utf-8"))
    _, shown, video = archive_with(tmp_path, item / "audio.ogg", (item / "article.txt").read_text(encoding="utf-8"))
    assert [s["start"] is not None for s in shown["sentences"]] == [True] * len(truth["sentences"])
    right = truth["sentences"][1]  # the quiet speaker: aligned inside his own utterance
    assert right["start"] - 1.0 <= shown["sentences"][1]["start"] < shown["sentences"][1]["end"] <= right["end"] + 1.0
    heard = " ".join(s["text"] for s in video["segments"]).lower()
    assert "marianas" in heard.replace("marianna's", "marianas") and "hospital" in heard


def test_out_of_phase_channels_add_up_instead_of_cancelling(tmp_path):
    speech = decode_channels(JFK)[:, 0]
    stereo = write_wav(tmp_path / "phase.wav", np.stack([speech, -speech], axis=1) * 0.5)
    assert loudness_of(load_audio(stereo, loudness=False)) < -70  # the plain downmix is silence
    assert abs(loudness_of(load_audio(stereo)) - loudness_of(speech * 0.5)) < 1.0


def test_quiet_speech_is_transcribed_and_located(tmp_path):
    quiet = write_wav(tmp_path / "quiet.wav", decode_channels(JFK)[:, 0] * 10 ** (-45 / 20))
    assert loudness_of(decode_channels(quiet)[:, 0]) < -60
    _, shown, video = archive_with(tmp_path, quiet, JFK_TEXT)
    assert shown["sentences"][0]["start"] is not None
    assert "your country" in " ".join(s["text"] for s in video["segments"]).lower()


def test_english_speech_stays_on_the_fast_english_model(tmp_path):
    archive, shown, video = archive_with(tmp_path, JFK, JFK_TEXT)
    assert video["model"] == "tiny.en" and video["language"] == "en"
    assert video["model_reason"].startswith("tiny.en (auto: speech detected en")
    assert shown["sentences"][0]["start"] is not None
    status = run_json("status", archive=archive)
    assert status["videos"][0]["model_reason"] == video["model_reason"]

    # an unchanged re-add transcribes nothing
    report = run_json("add", str(tmp_path / "article.txt"), "--video", str(JFK), archive=archive)
    assert not report["articles"][0]["videos"][0]["transcribed"]


def test_french_goes_to_the_multilingual_model_by_default_and_aligns(tmp_path):
    audio, text = fleurs("fr", 0)
    _, shown, video = archive_with(tmp_path, audio, text)
    assert video["model"] == "base" and video["language"] == "fr"
    assert "speech detected fr" in video["model_reason"]
    assert video["vad"]["removed"] is not None  # what the VAD skipped is recorded
    assert all(s["start"] is not None for s in shown["sentences"])


def test_language_and_model_options_win(tmp_path):
    audio, text = fleurs("fr", 0)
    _, _, video = archive_with(tmp_path / "lang", audio, text, "--language", "fr")
    assert video["model"] == "base" and video["model_reason"] == "base (auto: language fr given)"
    _, _, video = archive_with(tmp_path / "model", JFK, JFK_TEXT, "--model", "base")
    assert video["model"] == "base" and video["model_reason"] == "base (set by --model or the config)"
    assert video["language"] == "en"


def test_the_cache_key_follows_everything_that_changes_the_text():
    base = TranscribeOptions()
    keys = {o.cache_key("sha") for o in (base, TranscribeOptions(loudness=False), TranscribeOptions(recover_speech=False),
                                         TranscribeOptions(model="base"), TranscribeOptions(language="fr"))}
    assert len(keys) == 5
    assert base.request_key("sha", "fr") != base.request_key("sha", "en")  # auto: the article's language counts
    fixed = TranscribeOptions(model="tiny.en")
    assert fixed.request_key("sha", "fr") == fixed.request_key("sha", "en")  # a fixed model: it does not
