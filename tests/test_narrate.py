"""The narration generator of tests/support/narrate.py: its truth must be the truth, since the
alignment figures and the reliability tests rest on it.

Real voices (espeak-ng, flite), real ffmpeg; the audio is decoded back and measured.
"""
from __future__ import annotations

import numpy as np
import pytest

from archiver.media import load_audio
from support import narrate

TEXT = ("The harbour opened at dawn. Ships waited in the fog.\n\n"
        "Dockworkers voted on Tuesday.\n\n"
        "The mayor urged both sides to talk. Nobody answered her.")
RATE = 16000  # load_audio's rate


def rms(audio: np.ndarray, start: float, end: float) -> float:
    part = audio[int(start * RATE):int(end * RATE)]
    return float(np.sqrt(np.mean(part ** 2))) if len(part) else 0.0


@pytest.fixture(scope="module")
def espeak(tmp_path_factory):
    out = tmp_path_factory.mktemp("espeak")
    truth = narrate.narrate(TEXT, out, voice="espeak:en-us", speed=1.2, intro="Good evening.", outro="Good night.",
                            skip=[1], swap=(0, 2), lead_in=0.5)
    return truth, load_audio(out / "narration.mp4")


def test_sentences_come_in_the_order_spoken_with_what_was_left_out(espeak):
    truth, _ = espeak
    said = [(s["paragraph"], s["sentence"], s["in_article"]) for s in truth["sentences"]]
    # intro, paragraph 2 in paragraph 0's place, paragraph 1 skipped, paragraph 0 last, outro
    assert said == [(None, 0, False), (2, 0, True), (2, 1, True), (0, 0, True), (0, 1, True), (None, 0, False)]
    assert truth["spoken_paragraphs"] == [2, 0] and truth["skip"] == [1] and truth["swap"] == "0,2"
    assert [s["text"] for s in truth["sentences"][1:3]] == ["The mayor urged both sides to talk.", "Nobody answered her."]


def test_truth_times_are_where_the_speech_is(espeak):
    truth, audio = espeak
    assert abs(len(audio) / RATE - truth["duration"]) < 0.1  # the MP4 holds the whole narration
    spans = [(s["start"], s["end"]) for s in truth["sentences"]]
    assert spans[0][0] == 0.5  # the lead-in
    assert all(a_end < b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))
    for (start, end), (next_start, _) in zip(spans, spans[1:] + [(truth["duration"], None)]):
        assert rms(audio, start, end) > 0.02  # speech inside each span
        assert rms(audio, end + 0.05, next_start - 0.05) < 0.002  # silence between (AAC leaves a trace)


def test_flite_voice_with_a_music_bed(tmp_path):
    truth = narrate.narrate("One sentence is enough here.", tmp_path, voice="flite:slt", music_db=-18, lead_in=1.0)
    audio = load_audio(tmp_path / "narration.mp4")
    (sentence,) = truth["sentences"]
    assert sentence["start"] == 1.0 and sentence["end"] > 2.0
    speech, music = rms(audio, sentence["start"], sentence["end"]), rms(audio, 0.1, 0.9)
    assert 0.001 < music < speech / 3  # the bed plays under the lead-in, well below the voice


def test_unknown_voice_says_what_to_use(tmp_path):
    with pytest.raises(RuntimeError, match=r"piper, espeak:<voice> or flite:<voice>"):
        narrate.narrate("Hello there.", tmp_path, voice="festival:kal")
    assert not (tmp_path / "truth.json").exists()
