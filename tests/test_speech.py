"""Speech that is all there: real recordings (tests/fixtures/real/recordings/).

One archive for the module: its items are added by library calls in this process (each model
is loaded once), and the CLI runs where it is the point (`show`, `status`, `--language`, a re-add).
Stereo with one speaker per channel, quiet speech, speech after music, the model chosen by
language ("auto"), `--model` / `--language` winning, the reason shown by `show` and `status`.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from archiver import config
from archiver.media import decode_channels, ffmpeg_exe, load_audio, loudness_of
from archiver.pipeline import Archive, add
from archiver.show import show
from archiver.transcribe import TranscribeOptions, transcribe
from archiver.transcribe.vad import speech_regions
from conftest import ROOT, run_json

RECORDINGS = ROOT / "tests" / "fixtures" / "real" / "recordings"
SOURCES = RECORDINGS / "sources"
JFK = SOURCES / "faster-whisper" / "jfk.opus"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
STEREO = RECORDINGS / "en-stereo"


def truth(item: Path) -> dict:
    return json.loads((item / "truth.json").read_text(encoding="utf-8"))


def ffmpeg(*args: str, samples: np.ndarray | None = None) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True,
                   input=None if samples is None else samples.astype(np.float32).tobytes())


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """Float samples (n,) or (n, channels) at 16 kHz as a WAV file, through ffmpeg."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    ffmpeg("-f", "f32le", "-ar", "16000", "-ac", str(channels), "-i", "pipe:", str(path), samples=samples)
    return path


def fleurs(lang: str, i: int) -> tuple[Path, str]:
    stem = SOURCES / "fleurs" / f"fleurs-{lang}-{i:03d}"
    text = stem.with_suffix(".txt").read_text(encoding="utf-8").strip()
    return stem.with_suffix(".ogg"), text[0].upper() + text[1:] + "."


class Speech:
    """The module's archive: add(name, text, media) archives one article with its video."""

    def __init__(self, root: Path):
        self.root = root
        self.dir = root / "archive"
        self.archive = Archive.open(self.dir, config.load())
        self.items: dict[str, tuple[dict, dict]] = {}

    def article(self, name: str, text: str) -> Path:
        path = self.root / f"{name}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        return path

    def add(self, name: str, text: str, media: Path, **options) -> tuple[dict, dict]:
        article = self.article(name, text)
        report = add(self.archive, [str(article)], videos=[str(media)],
                     options=self.archive.transcribe_options(**options) if options else None)
        assert report.ok, report.errors
        shown = show(self.archive, report.articles[0].id)
        self.items[name] = shown, show(self.archive, shown["videos"][0]["id"])
        return self.items[name]


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Speech:
    return Speech(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="module")
def stereo(speech) -> tuple[dict, dict]:
    """The first two utterances of en-stereo: left, then the quiet right speaker."""
    excerpt = speech.root / "stereo.wav"
    ffmpeg("-i", str(STEREO / "audio.ogg"), "-t", "22.5", str(excerpt))
    return speech.add("stereo", " ".join(s["text"] for s in truth(STEREO)["sentences"][:2]), excerpt)


@pytest.fixture(scope="module")
def jfk_opening(speech) -> Path:
    """"And so my fellow Americans": 4.5 s."""
    excerpt = speech.root / "jfk-opening.wav"
    ffmpeg("-i", str(JFK), "-t", "4.5", str(excerpt))
    return excerpt


@pytest.fixture(scope="module")
def quiet(speech) -> tuple[dict, dict]:
    """JFK 45 dB down (about -62 LUFS), in a text article (no article language)."""
    path = write_wav(speech.root / "quiet.wav", decode_channels(JFK)[:, 0] * 10 ** (-45 / 20))
    return speech.add("quiet", JFK_TEXT, path)


def test_stereo_one_speaker_per_channel_both_transcribed_and_aligned(stereo):
    """The right speaker is 14 dB quieter in another room, and FLEURS recorded him 37 dB
    below the left one already: a plain downmix loses him to the VAD."""
    shown, video = stereo
    assert [s["start"] is not None for s in shown["sentences"]] == [True, True]
    right = truth(STEREO)["sentences"][1]  # the quiet speaker: aligned inside his own utterance
    assert right["start"] - 1.0 <= shown["sentences"][1]["start"] < shown["sentences"][1]["end"] <= right["end"] + 1.0
    heard = " ".join(s["text"] for s in video["segments"]).lower()
    assert "marianas" in heard.replace("marianna's", "marianas") and "hospital" in heard


def test_an_english_article_never_loads_the_multilingual_model(jfk_opening):
    transcript = transcribe(load_audio(jfk_opening), "v", "sha", TranscribeOptions(), article_language="en")
    assert transcript.model == "tiny.en" and transcript.language == "en"
    assert transcript.model_reason.startswith("tiny.en (auto: article language en; tiny.en heard English")
    assert "speech detected" not in transcript.model_reason  # no language identification: base never loaded


def test_out_of_phase_channels_add_up_instead_of_cancelling(tmp_path):
    speech = decode_channels(JFK)[:, 0]
    stereo = write_wav(tmp_path / "phase.wav", np.stack([speech, -speech], axis=1) * 0.5)
    assert loudness_of(load_audio(stereo, loudness=False)) < -70  # the plain downmix is silence
    assert abs(loudness_of(load_audio(stereo)) - loudness_of(speech * 0.5)) < 1.0


def test_quiet_speech_is_transcribed_and_located(speech, quiet):
    assert loudness_of(decode_channels(speech.root / "quiet.wav")[:, 0]) < -60
    shown, video = quiet
    assert shown["sentences"][0]["start"] is not None
    assert "your country" in " ".join(s["text"] for s in video["segments"]).lower()


def test_english_speech_stays_on_the_fast_english_model_and_the_cli_says_why(speech, quiet):
    shown, video = quiet
    assert video["model"] == "tiny.en" and video["language"] == "en"
    # the article's text is English (archiver.text finds its language), or the speech says so
    assert video["model_reason"].startswith(("tiny.en (auto: speech detected en", "tiny.en (auto: article language en"))
    assert shown["sentences"][0]["start"] is not None
    cli_video = run_json("show", video["id"], archive=speech.dir)
    assert cli_video["model_reason"] == video["model_reason"]
    status = run_json("status", archive=speech.dir)
    assert {v["id"]: v["model_reason"] for v in status["videos"]}[video["id"]] == video["model_reason"]

    # an unchanged re-add transcribes nothing
    report = run_json("add", str(speech.root / "quiet.txt"), "--video", str(speech.root / "quiet.wav"), archive=speech.dir)
    assert not report["articles"][0]["videos"][0]["transcribed"]


def test_speech_after_music_is_all_transcribed(speech):
    """25 s of music, then three sentences: Silero's state, carried over the whole file, stuck
    at "no speech" for the third one (and faster-whisper's VAD filter dropped it)."""
    item = RECORDINGS / "en-music"
    sentences = truth(item)["sentences"]
    regions = speech_regions(load_audio(item / "audio.ogg"))
    for s in sentences:  # the VAD hears every sentence
        heard = sum(max(0.0, min(b, s["end"]) - max(a, s["start"])) for a, b in regions)
        assert heard >= 0.7 * (s["end"] - s["start"]), s["text"]
    shown, video = speech.add("music", (item / "article.txt").read_text(encoding="utf-8"), item / "audio.ogg")
    assert all(s["start"] is not None for s in shown["sentences"])
    assert video["vad"]["recovered_words"] > 10  # decoded again: the filter had skipped it
    words = [w for s in video["segments"] for w in s["words"]]
    assert all(a["end"] <= b["start"] + 0.01 for a, b in zip(words, words[1:]))  # no word heard twice
    assert "light pollution" in " ".join(s["text"] for s in video["segments"]).lower()


def test_french_goes_to_the_multilingual_model_by_default_and_aligns(speech):
    audio, text = fleurs("fr", 0)
    shown, video = speech.add("french", text, audio)
    assert video["model"] == "base" and video["language"] == "fr"
    assert "speech detected fr" in video["model_reason"]
    assert video["vad"]["removed"] is not None  # what the VAD skipped is recorded
    assert all(s["start"] is not None for s in shown["sentences"])


def test_language_and_model_options_win(speech, jfk_opening):
    audio, text = fleurs("fr", 5)
    article = speech.article("french-given", text)
    report = run_json("add", str(article), "--video", str(audio), "--language", "fr", archive=speech.dir)
    video = run_json("show", report["articles"][0]["videos"][0]["id"], archive=speech.dir)
    assert video["model"] == "base" and video["model_reason"] == "base (auto: language fr given)"

    _, video = speech.add("model-given", "And so my fellow Americans.", jfk_opening, model="base")
    assert video["model"] == "base" and video["model_reason"] == "base (set by --model or the config)"
    assert video["language"] == "en"


def test_the_cache_key_follows_everything_that_changes_the_text():
    base = TranscribeOptions()
    keys = {o.cache_key("sha") for o in (base, TranscribeOptions(loudness=False), TranscribeOptions(recover_speech=False),
                                         TranscribeOptions(model="base"), TranscribeOptions(language="fr"))}
    assert len(keys) == 5
