"""End to end, through the real CLI: loopback pages -> yt-dlp -> ffmpeg -> Whisper -> alignment -> Whoosh."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import ARCHIVER, SEED, run_cli, run_json, seed_truth


def located_within(show: dict, truth: list[dict] | None = None, tolerance: float = 0.5) -> float:
    """Share of truth sentences (the whole seed narration's by default) whose start we place
    within `tolerance` seconds."""
    truth = truth if truth is not None else seed_truth()["sentences"]
    ours = {s["text"]: s for s in show["sentences"]}
    good = sum(1 for t in truth if ours.get(t["text"], {}).get("start") is not None
               and abs(ours[t["text"]]["start"] - t["start"]) <= tolerance)
    return good / len(truth)


def right_moment(hit: dict, word: str) -> bool:
    """The hit's time lies inside a sentence that really contains the word."""
    return any(word.lower() in t["text"].lower() and t["start"] - 0.5 <= hit["start"] <= t["end"] + 0.5
               for t in seed_truth()["sentences"])


def test_video_element_page_is_archived_and_aligned(seed_archive):
    archive, report = seed_archive
    (article,) = report["articles"]
    assert article["status"] == "ok", article
    assert [v["status"] for v in article["videos"]] == ["ok"]
    show = run_json("show", article["id"], archive=archive)
    assert len(show["sentences"]) == 22
    assert show["videos"][0]["url"].endswith("/report.mp4")
    assert located_within(show) >= 0.9


@pytest.mark.parametrize("name", ["al-Tanf", "Idlib"])
def test_search_puts_the_right_sentence_first(seed_archive, name):
    archive, _ = seed_archive
    result = run_json("search", name, archive=archive)
    first = result["hits"][0]
    assert name.lower() in first["text"].lower()
    assert right_moment(first, name), first
    assert first["url"].startswith("file://") and "#t=" in first["url"]
    assert set(first) >= {"source", "text", "start", "end", "video_id", "video_title", "article_id",
                          "article_title", "score", "url"}


def test_link_page_second_add_downloads_and_transcribes_nothing(site, seed_clip, tmp_path):
    url = site.url("link-page.html")  # the whole seed article, linking the short clip
    first = run_json("add", url, archive=tmp_path)
    (article,) = first["articles"]
    assert article["status"] == "ok" and article["videos"][0]["transcribed"]
    show = run_json("show", article["id"], archive=tmp_path)
    assert show["videos"][0]["url"].endswith("/clip.mp4")
    assert located_within(show, seed_clip.sentences) >= 0.9

    downloads = site.hits("/clip.mp4")
    transcript_files = list((tmp_path / "transcripts").rglob("*.json"))
    mtimes = [p.stat().st_mtime_ns for p in transcript_files]
    again = run_json("add", url, archive=tmp_path)
    video = again["articles"][0]["videos"][0]
    assert not video["downloaded"] and not video["transcribed"]
    assert downloads and site.hits("/clip.mp4") == downloads
    assert [p.stat().st_mtime_ns for p in transcript_files] == mtimes


def test_a_404_fails_alone(site, seed_clip, tmp_path):
    bad = site.url("no-such-article.html")
    result = run_cli("add", bad, str(seed_clip.path), archive=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "404" in errors[0] and bad in errors[0]
    assert "Traceback" not in result.stderr
    status = run_json("status", archive=tmp_path)
    assert [v["status"] for v in status["videos"]] == ["ok"]


def test_whole_pipeline_without_ffmpeg_on_path(seed_clip, tmp_path):
    """No system ffmpeg: imageio-ffmpeg's binary does the work (the seed article, its video the short clip)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(ARCHIVER, bin_dir / "archiver")
    path = os.pathsep.join([str(bin_dir), str(Path(ARCHIVER).parent)] +
                           [d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "ffmpeg").exists()])
    assert shutil.which("ffmpeg", path=path) is None
    shutil.copy(SEED / "article.md", tmp_path / "article.md")
    article = (tmp_path / "article.md").read_text(encoding="utf-8")
    article = re.sub(r"\[https://southfront[^\n]*", "[video](narration.mp4)", article)
    (tmp_path / "article.md").write_text(article, encoding="utf-8")
    shutil.copy(seed_clip.path, tmp_path / "narration.mp4")
    report = run_json("add", str(tmp_path / "article.md"), archive=tmp_path / "archive", env={"PATH": path})
    assert report["articles"][0]["status"] == "ok", report
    show = run_json("show", report["articles"][0]["id"], archive=tmp_path / "archive")
    assert located_within(show, seed_clip.sentences) >= 0.9


def test_show_video_and_reindex(seed_archive):
    archive, report = seed_archive
    video_id = report["articles"][0]["videos"][0]["id"]
    video = run_json("show", video_id, archive=archive)
    assert video["language"] == "en" and video["engine"] == "faster-whisper" and video["model"] == "tiny.en"
    assert len(video["sha256"]) == 64 and 170 < video["duration"] < 180
    assert video["articles"] == [report["articles"][0]["id"]]
    words = [w for s in video["segments"] for w in s["words"]]
    assert len(words) > 300 and all(w["start"] <= w["end"] for w in words)

    before = run_json("search", "safe haven", archive=archive)["total"]
    result = run_cli("reindex", archive=archive)
    assert result.returncode == 0 and "indexed" in result.stdout
    assert run_json("search", "safe haven", archive=archive)["total"] == before > 0


def test_unknown_id_is_a_one_line_error(seed_archive):
    archive, _ = seed_archive
    result = run_cli("show", "no-such-thing", archive=archive)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "no-such-thing" in result.stderr
