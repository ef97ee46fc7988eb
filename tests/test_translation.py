"""English for any language (issue 14.3): `add --translate` on a real Spanish reading (FLEURS),
the English track in `show --json`, searchable as source:translation, in the export."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli, run_json

CLIP = FIXTURES / "real" / "recordings" / "sources" / "fleurs" / "fleurs-es-000.ogg"
# "Se recomienda enfáticamente a los viajeros que se informen sobre cualquier riesgo de clima
# extremo en el área que visitan ...": travellers are strongly advised to learn about extreme weather.


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> tuple[Path, str, dict]:
    archive = tmp_path_factory.mktemp("translated")
    report = run_json("add", str(CLIP), "--model", "base", "--translate", "--no-diarize", archive=archive)
    assert report["errors"] == [], report
    video_id = report["videos"][0]["id"]
    return archive, video_id, run_json("show", video_id, archive=archive)


def test_show_has_the_english_track_timed_on_the_speech(translated):
    _, _, video = translated
    assert video["language"] == "es"
    track = video["translation"]
    assert track["language"] == "en" and track["segments"]
    english = " ".join(s["text"] for s in track["segments"]).lower()
    assert "weather" in english or "climate" in english, english
    spanish = " ".join(s["text"] for s in video["segments"]).lower()
    assert "viajeros" in spanish  # the transcript stays in Spanish
    assert video["prompting"] == {"prompt": "", "windows": []}  # no article: no names to prompt with
    speech = (video["segments"][0]["start"], video["segments"][-1]["end"])
    for s in track["segments"]:
        assert speech[0] - 1 <= s["start"] < s["end"] <= speech[1] + 1


def test_translation_is_searchable_as_its_own_source(translated):
    archive, video_id, video = translated
    hits = run_json("search", "travelers OR travellers OR weather source:translation", archive=archive)["hits"]
    assert hits and {h["source"] for h in hits} == {"translation"}
    assert hits[0]["video_id"] == video_id
    first = video["translation"]["segments"][0]
    assert first["start"] - 0.5 <= hits[0]["start"] <= video["translation"]["segments"][-1]["end"]
    spanish = run_json("search", "viajeros source:translation", archive=archive)["hits"]
    assert spanish == []  # the Spanish words are the transcript's, not the translation's
    assert run_json("search", "viajeros", archive=archive)["hits"][0]["source"] == "transcript"


def test_export_shows_both_tracks_and_both_subtitles(translated, tmp_path):
    archive, video_id, video = translated
    out = tmp_path / "bundle"
    result = run_cli("export", video_id, "--out", str(out), archive=archive)
    assert result.returncode == 0, result.stderr
    folder = next((out / "videos").iterdir())
    page = (folder / "index.html").read_text(encoding="utf-8")
    first_english = video["translation"]["segments"][0]["text"].strip()
    assert "English (translated from es)" in page and json.dumps(first_english)[1:-1][:20] in page
    vtt = next(folder.glob("*.en.vtt")).read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and first_english[:20] in vtt
    assert (folder / "translation.json").exists() and next(folder.glob("*.en.srt")).stat().st_size
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    derived = [d["path"] for v in manifest["videos"] for d in v["derived"]]
    assert any(p.endswith(".en.vtt") for p in derived)
    assert run_cli("verify", str(out)).returncode == 0


def test_re_add_keeps_the_translation(translated, tmp_path):
    archive, video_id, video = translated
    again = run_json("add", str(CLIP), "--model", "base", "--translate", "--no-diarize", archive=archive)
    assert again["videos"][0]["transcribed"] is False
    assert run_json("show", video_id, archive=archive)["translation"] == video["translation"]
