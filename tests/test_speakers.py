"""Who is speaking: real readers joined into conversations, through the real CLI.

Two people: a LibriVox reader of Shakespeare's sonnets and John F. Kennedy (his 1961
inaugural address), in alternating turns; one person: the sonnets reader alone. Each `add`
transcribes under 30 s of audio with the real model and diarizes with the real encoder.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli, run_json
from support.joins import Voice, converse

RECORDINGS = FIXTURES / "real" / "recordings"
JFK = RECORDINGS / "sources" / "faster-whisper" / "jfk.opus"
SONNETS = FIXTURES / "sonnets"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
SONNET = ("From fairest creatures we desire increase, that thereby beauty's rose might never die. "
          "But as the riper should by time decease, his tender heir might bear his memory.")


def words_of(video: dict) -> list[dict]:
    return [w for s in video["segments"] for w in s["words"]]


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> dict:
    """An article (a sonnet's lines and Kennedy's sentence) with its video: the sonnets reader,
    Kennedy, the reader again, Kennedy again."""
    root = tmp_path_factory.mktemp("two-readers")
    reader, kennedy = Voice.of("reader", SONNETS / "p001.mp3"), Voice.of("kennedy", JFK)
    conversation = converse([reader, kennedy], [(0, 2), (1, 2), (0, 2), (1, 2)], seed=1)
    media = conversation.write(root / "conversation.wav")
    article = root / "article.txt"
    article.write_text(f"Sonnet one\n\n{SONNET}\n\n{JFK_TEXT}\n", encoding="utf-8")
    archive = root / "archive"
    report = run_json("add", str(article), "--video", str(media), archive=archive)
    assert report["articles"][0]["status"] == "ok", report
    video_id = report["articles"][0]["videos"][0]["id"]
    return {"archive": archive, "report": report, "video": run_json("show", video_id, archive=archive),
            "article": run_json("show", report["articles"][0]["id"], archive=archive),
            "conversation": conversation, "root": root}


def test_two_real_readers_are_two_speakers_with_their_own_words(two):
    video, conversation = two["video"], two["conversation"]
    assert two["report"]["articles"][0]["videos"][0]["diarized"] is True
    assert [p["id"] for p in video["speakers"]] == ["S1", "S2"]
    words = words_of(video)
    assert all(w["speaker"] in ("S1", "S2") for w in words)
    # S1 speaks first: the reader; every word said in a turn of Kennedy's is S2's (a few at the edges may slip)
    truth = {"reader": "S1", "kennedy": "S2"}
    right = sum(truth[conversation.speaker_at((w["start"] + w["end"]) / 2)] == w["speaker"] for w in words)
    assert right / len(words) >= 0.9, (right, len(words))
    said_by = {re.sub(r"\W", "", w["word"]).lower(): w["speaker"] for w in words}
    assert said_by.get("country") == "S2" and said_by.get("fairest", said_by.get("creatures")) == "S1", said_by
    # a segment never mixes speakers: the words of each carry its speaker
    assert all(w["speaker"] == s["speaker"] for s in video["segments"] for w in s["words"])
    seconds = {p["id"]: p["seconds"] for p in video["speakers"]}
    assert 5 < seconds["S1"] and 5 < seconds["S2"], seconds


def test_article_sentences_carry_their_speaker(two):
    sentences = {s["text"][:20]: s for s in two["article"]["sentences"]}
    kennedy = next(s for s in two["article"]["sentences"] if s["text"].startswith("And so my fellow"))
    sonnet = next(s for s in two["article"]["sentences"] if s["text"].startswith("From fairest"))
    assert kennedy["start"] is not None and sonnet["start"] is not None, sentences
    assert (sonnet["speaker"], kennedy["speaker"]) == ("S1", "S2")


def test_naming_a_speaker_makes_the_name_searchable_and_renaming_moves_it(two):
    archive, video_id = two["archive"], two["video"]["id"]
    named = run_json("speakers", video_id, "S2", "Mike Pompeo", archive=archive)
    assert {p["id"]: p["name"] for p in named["speakers"]} == {"S1": None, "S2": "Mike Pompeo"}
    hits = run_json("search", 'speaker:"Mike Pompeo" country', archive=archive)["hits"]
    assert hits and all(h["video_id"] == video_id or h["source"] == "article" for h in hits)
    assert any("country" in h["text"].lower() for h in hits if h["source"] == "transcript")
    assert not run_json("search", 'speaker:"Mike Pompeo" fairest', archive=archive)["hits"]
    assert run_json("search", "speaker:pompeo country", archive=archive)["hits"]  # one word of the name
    assert run_json("search", "speaker:S1 fairest", archive=archive)["hits"]  # or the id
    # the article sentence Kennedy says is found by his name too
    assert any(h["source"] == "article" for h in run_json("search", 'speaker:"mike pompeo" fellow', archive=archive)["hits"])
    shown = run_json("show", video_id, archive=archive)
    assert {p["id"]: p["name"] for p in shown["speakers"]}["S2"] == "Mike Pompeo"
    run_cli("speakers", video_id, "S2", "John F. Kennedy", archive=archive, check=True)
    assert not run_json("search", 'speaker:"Mike Pompeo" country', archive=archive)["hits"]
    assert run_json("search", 'speaker:kennedy country', archive=archive)["hits"]
    article = run_json("show", two["article"]["id"], archive=archive)
    kennedy = next(s for s in article["sentences"] if s["text"].startswith("And so my fellow"))
    assert kennedy["speaker_name"] == "John F. Kennedy"
    # the text output shows the turns with the name
    text = run_cli("show", video_id, archive=archive, check=True).stdout
    assert "John F. Kennedy (S2)" in text and "\nS1\n" in text
    # a speaker the video does not have: one line naming it
    bad = run_cli("speakers", video_id, "S9", "Nobody", archive=archive)
    assert bad.returncode == 1 and "has no speaker S9" in bad.stderr and "Traceback" not in bad.stderr


def test_export_subtitles_name_the_speakers(two, tmp_path):
    archive, video_id = two["archive"], two["video"]["id"]
    run_cli("speakers", video_id, "S2", "Mike Pompeo", archive=archive, check=True)
    run_cli("export", video_id, "--out", str(tmp_path / "bundle"), "--no-media", archive=archive, check=True)
    folder = tmp_path / "bundle" / "videos" / video_id
    vtt = (folder / f"{video_id}.vtt").read_text(encoding="utf-8")
    assert "<v Mike Pompeo>" in vtt and "<v S1>" in vtt
    kennedy_cues = [line for line in vtt.splitlines() if line.startswith("<v Mike Pompeo>")]
    assert any("country" in line.lower() for line in kennedy_cues)
    srt = (folder / f"{video_id}.srt").read_text(encoding="utf-8")
    assert re.search(r"^Mike Pompeo: .*country", srt, re.M | re.I)
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert '<span class="who">Mike Pompeo</span>' in page
    transcript = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert {s["speaker"] for s in transcript["segments"]} == {"S1", "S2"}


def test_one_reader_is_one_speaker_and_no_diarize_then_diarize_runs_only_the_new_stage(tmp_path):
    reader = Voice.of("reader", SONNETS / "p002.mp3")
    media = converse([reader], [(0, 3), (0, 2), (0, 3)], seed=2).write(tmp_path / "reader.wav")
    archive = tmp_path / "archive"
    first = run_json("add", str(media), "--no-diarize", archive=archive)["videos"][0]
    assert first["transcribed"] is True and first["diarized"] is False
    shown = run_json("show", first["id"], archive=archive)
    assert shown["speakers"] == [] and all(s["speaker"] is None for s in shown["segments"])
    again = run_json("add", str(media), archive=archive)["videos"][0]
    assert (again["transcribed"], again["diarized"]) == (False, True)
    shown = run_json("show", first["id"], archive=archive)
    assert [p["id"] for p in shown["speakers"]] == ["S1"]
    assert {w["speaker"] for w in words_of(shown)} == {"S1"}
    third = run_json("add", str(media), archive=archive)["videos"][0]
    assert (third["transcribed"], third["diarized"]) == (False, False)  # cached: nothing runs
    # one unnamed speaker: subtitles stay plain
    run_cli("export", first["id"], "--out", str(tmp_path / "bundle"), "--no-media", archive=archive, check=True)
    vtt = (tmp_path / "bundle" / "videos" / first["id"] / f"{first['id']}.vtt").read_text(encoding="utf-8")
    assert "<v " not in vtt


def without_speakers_extra(*args: str, archive: Path):
    """The real CLI in a process where resemblyzer cannot be found (as when the extra is not installed)."""
    import subprocess
    import sys

    code = "import sys; sys.modules['resemblyzer'] = None; from archiver.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, "--archive", str(archive), *args], capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)


def test_without_the_extra_auto_notes_it_once_and_true_is_one_line_naming_it(tmp_path):
    archive = tmp_path / "archive"
    auto = without_speakers_extra("add", str(JFK), "--json", archive=archive)
    report = json.loads(auto.stdout)
    assert auto.returncode == 0 and report["videos"][0]["status"] == "ok"
    assert len(report["notes"]) == 1 and "[speakers]" in report["notes"][0]
    assert run_json("show", report["videos"][0]["id"], archive=archive)["speakers"] == []
    config = tmp_path / "archiver.toml"
    config.write_text("[transcribe]\ndiarize = true\n", encoding="utf-8")
    strict = without_speakers_extra("--config", str(config), "add", str(JFK), archive=tmp_path / "other")
    assert strict.returncode == 1 and "[speakers]" in strict.stderr
    assert len(strict.stderr.strip().splitlines()) == 1 and not (tmp_path / "other" / "media").exists()


def test_the_mel_frames_are_resemblyzers_own():
    """speakers.mel_frames skips librosa's slow imports (numba compiles for half a minute); it
    must give the encoder what resemblyzer.audio.wav_to_mel_spectrogram (librosa) gives it, on a
    real reading. Theirs is stored (tests/fixtures/speakers/README.md says how it was made)."""
    import numpy as np

    from archiver.speakers import mel_frames
    from support.joins import decode

    wav = decode(JFK)[:16000 * 3 + 77]
    ours, theirs = mel_frames(wav), np.load(FIXTURES / "speakers" / "jfk-3s-mel.npy")
    assert ours.shape == theirs.shape
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-6 * float(theirs.max()))


def test_the_onnx_encoder_is_resemblyzers_own():
    """The ONNX copy of the voice encoder (converted once, run by ONNX Runtime) gives what
    Resemblyzer's torch model gives, on real speech."""
    import numpy as np
    import torch
    from resemblyzer import VoiceEncoder

    from archiver.speakers import FRAMES, encoder_onnx, load_encoder, mel_frames
    from support.joins import decode

    assert encoder_onnx().exists()
    wav = decode(JFK)
    mels = np.stack([mel_frames(wav[k * 8000: k * 8000 + 25600])[:FRAMES] for k in range(4)])
    ours = load_encoder().run(None, {"mels": mels})[0]
    with torch.no_grad():
        theirs = VoiceEncoder("cpu", verbose=False)(torch.from_numpy(mels)).numpy()
    assert np.abs(ours - theirs).max() < 1e-5
