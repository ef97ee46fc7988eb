"""Data that must not be lost or mixed up, through the real CLI on loopback servers:
every failure reaches the catalog whatever its type and however the process ends, one file
or page is one article however it is spelled, video hosts get the per-host limit too, and
readers never write.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import makemedia
from conftest import ARCHIVER, ROOT, LoopbackServer, news_page, run_cli, run_json
from test_reliability import Answer, InFlight, check_consistent, html_answer, rows, video_tag

sys.path.insert(0, str(ROOT))

from archiver.article import article_id_for  # noqa: E402
from archiver.store.catalog import Catalog  # noqa: E402


@pytest.fixture(scope="module")
def texts() -> list[makemedia.Piece]:
    """Article texts (no narration): for articles whose videos have no sound, or no video."""
    return makemedia.pieces(8)


@pytest.fixture(scope="module")
def mute(tmp_path_factory) -> bytes:
    """A real video without an audio track: archived without a transcription, so it costs no CPU."""
    return makemedia.silent_video(tmp_path_factory.mktemp("mute") / "mute.mp4", seconds=2, audio_track=False) \
        .read_bytes()


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    server = LoopbackServer(tmp_path_factory.mktemp("web"))
    yield server
    server.close()


def page(web: LoopbackServer, path: str, piece: makemedia.Piece, video: str | None = None) -> tuple[str, Answer]:
    answer = html_answer(news_page(piece.title, piece.paragraphs, video_tag(video) if video else "", where=0))
    return web.route(path, answer), answer


def markdown(path: Path, piece: makemedia.Piece) -> Path:
    path.write_text(f"# {piece.title}\n\n" + "\n\n".join(piece.paragraphs) + "\n", encoding="utf-8")
    return path


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def running(status: dict) -> list[dict]:
    return [r for r in status["articles"] + status["videos"] if r["status"] == "running"]


def cli_in(cwd: Path, *args: str, env: dict | None = None, prefix: list[str] | None = None,
           ) -> subprocess.CompletedProcess:
    """The real `archiver` command run from `cwd` (relative paths are relative to it)."""
    return subprocess.run([*(prefix or []), str(ARCHIVER), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------- every failure reaches the catalog


def test_failures_of_any_type_are_recorded_with_their_stage_and_retried(web, texts, mute, tmp_path):
    """An OS error is not an ArchiverError: it still fails its item alone, with a catalog row
    that `status` shows and `retry` runs again; nothing is left `running`."""
    blocked_page, _ = page(web, "/unexpected/a.html", texts[0])
    web.route("/unexpected/mute.mp4", Answer(mute))
    transcript_page, _ = page(web, "/unexpected/b.html", texts[1], "mute.mp4")
    archive = tmp_path / "archive"
    # a file where the archive needs a directory: an OS error, as a full or read-only disk gives
    article_dir = archive / "articles" / article_id_for(blocked_page)
    article_dir.parent.mkdir(parents=True)
    article_dir.write_text("in the way")
    (archive / "transcripts").write_text("in the way")
    first = run_cli("add", blocked_page, transcript_page, "--json", archive=archive)
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    assert [a["status"] for a in report["articles"]] == ["failed", "failed"], report
    assert "FileExistsError" in report["articles"][0]["error"] and blocked_page in report["articles"][0]["error"]
    assert "NotADirectoryError" in report["articles"][1]["videos"][0]["error"]
    assert "Traceback" not in first.stderr

    status = run_json("status", archive=archive)
    assert running(status) == [], running(status)
    articles = {a["source"]: a for a in status["articles"]}
    assert articles[blocked_page]["status"] == "failed" and articles[blocked_page]["stage"] == "fetch"
    assert "FileExistsError" in articles[blocked_page]["error"]
    assert articles[transcript_page]["status"] == "failed"
    (video,) = status["videos"]
    assert video["status"] == "failed" and video["stage"] == "transcribe", video
    assert "NotADirectoryError" in video["error"]

    article_dir.unlink()
    (archive / "transcripts").unlink()
    again = run_json("retry", archive=archive)
    assert sorted(a["url"] for a in again["articles"]) == sorted([blocked_page, transcript_page]), again
    assert [a["status"] for a in again["articles"]] == ["ok", "ok"], again
    status = run_json("status", archive=archive)
    assert all(r["status"] == "ok" for r in status["articles"] + status["videos"]), status
    check_consistent(archive)


def test_sigterm_stops_a_batch_at_once_and_leaves_nothing_running(web, texts, mute, tmp_path):
    stalled = Answer(mute, plan={0: "stall"}, stall=30)  # the first request waits: the add is mid-download
    web.route("/term/v.mp4", stalled)
    url, _ = page(web, "/term/a.html", texts[2], "v.mp4")
    other, _ = page(web, "/term/b.html", texts[3])
    archive = tmp_path / "archive"
    process = subprocess.Popen([str(ARCHIVER), "--archive", str(archive), "add", url, other, "--jobs", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        wait_for(lambda: stalled.requests, 60, "the video request")
        during = run_json("status", archive=archive)  # a reader while the writer is busy
        assert [a["source"] for a in running(during)] == [url], during
        process.send_signal(signal.SIGTERM)
        sent = time.time()
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM, err
    assert time.time() - sent < 5, "the batch went on after SIGTERM"
    assert "interrupted" in err and "Traceback" not in err
    status = run_json("status", archive=archive)
    assert running(status) == []
    (row,) = [a for a in status["articles"] if a["source"] == url]
    assert row["status"] == "failed" and row["stage"] == "videos" and "interrupted" in row["error"], row

    again = run_json("retry", archive=archive)  # the stall was the first request only
    assert [a["url"] for a in again["articles"]] == [url] and again["articles"][0]["status"] == "ok", again
    check_consistent(archive)


def test_the_next_writer_ends_what_a_killed_run_left_running(web, tmp_path):
    (piece,) = makemedia.narrated(1, tmp_path / "piece")
    web.route("/kill9/v.mp4", Answer(piece.narration.read_bytes()))
    url, _ = page(web, "/kill9/a.html", piece, "v.mp4")
    archive = tmp_path / "archive"
    process = subprocess.Popen([str(ARCHIVER), "--archive", str(archive), "add", url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: any(v["stage"] == "transcribe" and v["status"] == "running" for v in rows(archive, "videos")),
                 60, "the transcription")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    left = run_json("status", archive=archive)  # readers change nothing
    assert len(running(left)) == 2, left

    assert run_cli("reindex", archive=archive).returncode == 0  # any command that writes
    status = run_json("status", archive=archive)
    assert running(status) == []
    (article,), (video,) = status["articles"], status["videos"]
    assert article["status"] == video["status"] == "failed"
    assert video["stage"] == "transcribe" and "interrupted" in video["error"], video
    assert url in article["error"] and "interrupted" in article["error"], article

    again = run_json("retry", archive=archive)
    assert again["articles"][0]["status"] == "ok" and again["articles"][0]["videos"][0]["transcribed"], again
    check_consistent(archive)


# ---------------------------------------------------------------- one source, one article


def test_one_file_is_one_article_however_it_is_spelled(web, texts, mute, tmp_path):
    home = tmp_path / "home"
    work = home / "work"
    (work / "sub").mkdir(parents=True)
    story = markdown(work / "story.md", texts[4])
    (work / "link.md").symlink_to(story)
    bad = work / "bad.md"
    bad.write_text("# Nothing yet\n", encoding="utf-8")  # no text: fails until it has some
    clip = work / "clip.mp4"
    clip.write_bytes(b"")  # empty: fails until it is a video
    legacy = markdown(work / "legacy.md", texts[5])
    url, answer = page(web, "/spelled/story.html", texts[6])
    archive = tmp_path / "archive"
    # what the previous version left for a file added as `legacy.md`: an id made of that spelling
    old = Catalog(archive / "catalog.sqlite")
    old.upsert_article(article_id_for("legacy.md"), source="legacy.md", stage="fetch", status="failed",
                       error="legacy.md: cannot read the file")
    old.close()

    spellings = ["story.md", "./story.md", str(story), "~/work/story.md", "link.md", "sub/../story.md"]
    first = cli_in(work, "--archive", str(archive), "add", *spellings, url, url + "#comments", "clip.mp4",
                   "./clip.mp4", "bad.md", "legacy.md", "--json", env={"HOME": str(home)})
    report = json.loads(first.stdout)
    assert [a["url"] for a in report["articles"]] == ["story.md", url, "bad.md", "legacy.md"], report
    assert [a["status"] for a in report["articles"]] == ["ok", "ok", "failed", "ok"], report
    assert [(v["url"], v["status"]) for v in report["videos"]] == [("clip.mp4", "failed")], report
    assert len(answer.requests) == 1, "the page was fetched twice"
    assert first.returncode == 1 and len(report["errors"]) == 2, report["errors"]
    story_id = report["articles"][0]["id"]
    assert report["articles"][3]["id"] == article_id_for("legacy.md")  # the old article, not a new one

    bad.write_text(markdown(tmp_path / "text.md", texts[7]).read_text(encoding="utf-8"), encoding="utf-8")
    clip.write_bytes(mute)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = json.loads(cli_in(elsewhere, "--archive", str(archive), "retry", "--json").stdout)
    assert [(a["url"], a["status"]) for a in again["articles"]] == [(str(bad), "ok")], again
    assert [(v["url"], v["status"]) for v in again["videos"]] == [(str(clip), "ok")], again

    later = json.loads(cli_in(work / "sub", "--archive", str(archive), "add", "../story.md", "--json").stdout)
    assert [a["id"] for a in later["articles"]] == [story_id]
    status = run_json("status", archive=archive)
    assert sorted(a["source"] for a in status["articles"]) == sorted([str(story), url, str(bad), str(legacy)])
    assert all(r["status"] == "ok" for r in status["articles"] + status["videos"]), status
    check_consistent(archive)


# ---------------------------------------------------------------- politeness


def test_video_hosts_get_the_per_host_limit(texts, mute, tmp_path):
    """Four articles on four hosts, their videos on one: --jobs 4 asks that one host for two at a time."""
    in_flight = InFlight()
    video_host = LoopbackServer(tmp_path)
    article_hosts = [LoopbackServer(tmp_path) for _ in range(4)]
    try:
        urls = []
        for i, host in enumerate(article_hosts):
            video_host.route(f"/v{i}.mp4", Answer(mute, delay=0.5, in_flight=in_flight))
            urls.append(page(host, "/story.html", texts[i], video_host.url(f"/v{i}.mp4"))[0])
        report = run_json("add", *urls, "--jobs", "4", archive=tmp_path / "archive")
    finally:
        for server in [video_host, *article_hosts]:
            server.close()
    assert [a["status"] for a in report["articles"]] == ["ok"] * 4, report
    assert in_flight.most == 2, f"{in_flight.most} requests at once to the video host"


# ---------------------------------------------------------------- readers never write


def test_a_catalog_opened_read_only_refuses_to_write(tmp_path):
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog(path)
    catalog.upsert_article("kept", source="kept.md", stage="done", status="ok")
    catalog.close()
    reader = Catalog(path, readonly=True)
    assert reader.article("kept")["status"] == "ok"
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.upsert_article("new", source="new.md")
    reader.close()
    assert Catalog(path, readonly=True).article("new") is None


@pytest.fixture
def shared_dir():
    """A directory that another user can reach (pytest's own tmp is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="archiver-ro-"))
    path.chmod(0o755)
    yield path
    for p in [path, *path.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(path)


def test_readers_work_on_a_read_only_archive_and_say_when_there_is_none(texts, shared_dir):
    story = markdown(shared_dir / "story.md", texts[0])
    archive = shared_dir / "archive"
    (added,) = run_json("add", str(story), archive=archive)["articles"]
    assert added["status"] == "ok", added
    for p in [archive, *archive.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    # root writes anywhere; without the capabilities that let it, root obeys the permissions as
    # another user would
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []
    denied = subprocess.run([*prefix, "touch", str(archive / "probe")], capture_output=True)
    assert denied.returncode != 0, "the archive is still writable: the test would prove nothing"
    before = sorted((p.name, p.stat().st_mtime_ns) for p in archive.rglob("*"))

    word = makemedia.keyword(texts[0])
    reader = [*prefix, str(ARCHIVER), "--archive", str(archive)]
    for args in (["status", "--json"], ["search", word, "--json"], ["show", added["id"], "--json"]):
        result = subprocess.run([*reader, *args], capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL)
        assert result.returncode == 0, (args, result.stderr)
        data = json.loads(result.stdout)
        if args[0] == "search":
            assert data["hits"] and data["hits"][0]["article_id"] == added["id"], data
    assert sorted((p.name, p.stat().st_mtime_ns) for p in archive.rglob("*")) == before

    missing = shared_dir / "nothing-here"
    for args in (["status"], ["search", word], ["show", added["id"]], ["export", "--all", "--out",
                                                                      str(shared_dir / "out")], ["retry"]):
        result = run_cli(*args, archive=missing)
        assert result.returncode == 1 and "no archive at" in result.stderr, (args, result.stderr)
        assert not missing.exists(), f"`{args[0]}` created the archive directory"
