"""Reliability, through the real CLI on loopback servers: batches in parallel, crash-safe
resume after SIGKILL, readers while an add writes, network faults, and bad inputs that each
give one line naming the input while the rest of the batch goes on.

Media are short narrations made on the spot (tests/makemedia.py: espeak-ng voices, or cuts
of the seed narration without espeak-ng), so the file runs in a few minutes on two cores.
"""
from __future__ import annotations

import html
import io
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest

import makemedia
from conftest import ARCHIVER, ROOT, LoopbackServer, news_page, run_cli, run_json, run_on_terminal

sys.path.insert(0, str(ROOT))

from archiver.pipeline import Archive  # noqa: E402
from archiver.store.files import sha256_file  # noqa: E402
from index.writer import document_count  # noqa: E402

SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


# ---------------------------------------------------------------- a loopback site with faults


class Answer:
    """A route that serves `body`, misbehaving on chosen requests.

    `plan` maps the request number (0-based) to what goes wrong with it: an HTTP status
    (int), "cut" (half the body, then the connection drops), "stall" (no answer for
    `stall` seconds), or "reset" (the connection closes before any answer). `broken`
    makes every request answer that status until it is set back to None. Range requests
    are honoured unless ranges=False; `rate` (bytes/s) throttles the body. Every answer waits
    `delay` seconds first, or less when `until` is given: until it returns true.
    """

    def __init__(self, body: bytes, content_type: str = "video/mp4", *, plan: dict | None = None,
                 ranges: bool = True, delay: float = 0.0, stall: float = 4.0, rate: float | None = None,
                 in_flight: InFlight | None = None, until: Callable[[], bool] | None = None):
        self.body, self.content_type, self.plan = body, content_type, plan or {}
        self.ranges, self.delay, self.stall, self.rate, self.until = ranges, delay, stall, rate, until
        self.broken: int | None = None
        self.in_flight = in_flight
        self.requests: list[dict] = []  # {"at", "range", "answered"}
        self.lock = threading.Lock()

    def __call__(self, h) -> None:
        with self.lock:
            n = len(self.requests)
            record = {"at": time.time(), "range": h.headers.get("Range"), "answered": None}
            self.requests.append(record)
        if self.in_flight:
            self.in_flight.enter()
        try:
            self._answer(h, n, record)
        finally:
            if self.in_flight:
                self.in_flight.leave()

    def _answer(self, h, n: int, record: dict) -> None:
        deadline = time.monotonic() + self.delay
        while time.monotonic() < deadline and not (self.until and self.until()):
            time.sleep(0.05)
        fault = self.broken or self.plan.get(n)
        if fault == "stall":
            time.sleep(self.stall)
        elif fault == "reset":
            _hang_up(h)
            return
        elif isinstance(fault, int):
            h.send_response(fault)
            h.send_header("Content-Length", "0")
            if fault == 429:
                h.send_header("Retry-After", "0")
            h.end_headers()
            return
        start = 0
        if record["range"] and self.ranges:
            start = int(record["range"].split("=")[1].split("-")[0])
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(self.body) - 1}/{len(self.body)}")
        else:
            h.send_response(200)
        h.send_header("Content-Type", self.content_type)
        h.send_header("Content-Length", str(len(self.body) - start))
        if self.ranges:
            h.send_header("Accept-Ranges", "bytes")
        h.end_headers()
        payload = self.body[start:]
        record["answered"] = time.time()
        try:
            if fault == "cut":
                h.wfile.write(payload[:len(payload) // 2])
                h.wfile.flush()
                _hang_up(h)
                return
            step = 16384
            for i in range(0, len(payload), step):
                h.wfile.write(payload[i:i + step])
                if self.rate:
                    time.sleep(step / self.rate)
        except (BrokenPipeError, ConnectionResetError):
            _hang_up(h)  # the client went away (killed, or done with a probe)

    def ranges_asked(self) -> list[int]:
        return [int(r["range"].split("=")[1].split("-")[0]) for r in self.requests if r["range"]]


def _hang_up(h) -> None:
    """Drop the connection; what the handler still writes goes nowhere."""
    h.close_connection = True
    try:
        h.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    h.wfile = io.BytesIO()


class InFlight:
    """How many requests a server answers at once, at most."""

    def __init__(self):
        self.now = self.most = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


def html_answer(text: str, **kwargs) -> Answer:
    return Answer(text.encode("utf-8"), "text/html; charset=utf-8", **kwargs)


def video_tag(path: str) -> str:
    return f'<figure><video controls src="{html.escape(path)}"></video></figure>'


@pytest.fixture(scope="module")
def pieces(tmp_path_factory) -> list[makemedia.Piece]:
    """12 short narrated articles (10-20 s each) with their exact sentence truth."""
    return makemedia.narrated(12, tmp_path_factory.mktemp("pieces"))


@pytest.fixture(scope="module")
def odd(tmp_path_factory, pieces) -> dict[str, Path]:
    """Media that are not what they seem, or not media at all."""
    root = tmp_path_factory.mktemp("odd")
    speech = pieces[11].narration
    return {
        "silent": makemedia.silent_video(root / "silent.mp4"),
        "mute": makemedia.silent_video(root / "mute.mp4", audio_track=False),
        "audio": makemedia.audio_only(speech, root / "speech.mp3"),
        "corrupt": makemedia.corrupt_mp4(pieces[0].narration, root / "corrupt.mp4"),
        "empty": _touch(root / "empty.mp4"),
    }


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    server = LoopbackServer(tmp_path_factory.mktemp("web"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory) -> Path:
    """Few retries and short timeouts, so the failures of a test fail fast."""
    path = tmp_path_factory.mktemp("config") / "quick.toml"
    path.write_text("[download]\nretries = 2\ntimeout = 5\n", encoding="utf-8")
    return path


def serve_article(web: LoopbackServer, path: str, piece: makemedia.Piece, video: str | None = None,
                  **kwargs) -> tuple[str, Answer]:
    """An article page for `piece` at `path`, linking `video` (a path on the same server) if given."""
    answer = html_answer(news_page(piece.title, piece.paragraphs, video_tag(video) if video else "", where=0),
                         **kwargs)
    return web.route(path, answer), answer


def serve_media(web: LoopbackServer, path: str, source: Path, **kwargs) -> tuple[str, Answer]:
    answer = Answer(source.read_bytes(), **kwargs)
    return web.route(path, answer), answer


def sources_file(path: Path, urls: list[str]) -> Path:
    lines = ["# a batch for the reliability tests", ""]
    for i, url in enumerate(urls):
        lines.append(url)
        if i % 3 == 1:
            lines += ["", "   # a comment between sources"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- what a consistent archive is


def index_counts(index_dir: Path, owners: list[str]) -> Counter:
    """Documents per owner (article or video id) as the index itself counts them."""
    from index.writer import owner_count

    return +Counter({owner: owner_count(index_dir, owner) for owner in owners})


def check_consistent(archive_dir: Path, final: bool = True, leftovers: int = 0) -> dict:
    """Every catalog claim is backed by complete files; when `final`, the index also holds
    exactly what the catalog says and no temp file is left (but `leftovers` partial
    downloads, kept to resume). Returns the catalog rows."""
    archive = Archive.open(archive_dir, readonly=True)
    layout = archive.layout
    articles, videos = archive.catalog.articles(), archive.catalog.videos()
    for v in videos:
        assert SAFE_ID.match(v["id"]), v["id"]
        if v["stage"] != "download":
            assert (layout.media_dir(v["id"]) / v["media_file"]).is_file(), v
            assert sha256_file(layout.media_dir(v["id"]) / v["media_file"]) == v["sha256"], v
        if v["stage"] in ("index", "done"):
            transcript = archive.transcript(v["id"])
            assert transcript is not None and transcript.video_id == v["id"], v
    for a in articles:
        assert SAFE_ID.match(a["id"]), a["id"]
        if a["stage"] not in ("fetch",):
            assert archive.article(a["id"]).id == a["id"]
    for path in layout.root.rglob("*"):
        assert path.resolve().is_relative_to(layout.root), path
    if final:
        catalog_docs = Counter({row["id"]: row["indexed_docs"] for row in articles + videos if row["indexed_docs"]})
        # the same total and the same count for every owner: no orphans, no duplicates
        assert document_count(layout.index_dir) == sum(catalog_docs.values())
        assert index_counts(layout.index_dir, [row["id"] for row in articles + videos]) == catalog_docs
        temp = layout.temp_files()
        assert len(temp) == leftovers and all(p.parent.name == "media" and p.is_dir() for p in temp), temp
    archive.catalog.close()
    return {"articles": articles, "videos": videos}


def rows(archive: Path, table: str) -> list[dict]:
    """The catalog's rows, read directly (fast enough to poll a running `add`)."""
    path = archive / "catalog.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(f"SELECT * FROM {table}")]
    except sqlite3.OperationalError:  # the first `add` has not created its tables yet
        return []
    finally:
        db.close()


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


# ---------------------------------------------------------------- 1. batches


def test_batch_from_file_is_a_pipeline(web, pieces, tmp_path):
    """The first transcription is done while a slow article is still being fetched."""
    # the slow article answers once a video has gone through every stage (in a pipeline), or
    # after a minute (in a batch that transcribes only once every article is fetched, which the
    # assertion below catches)
    def video_done() -> bool:
        return any(v["stage"] == "done" for v in rows(tmp_path / "a", "videos"))

    urls = []
    for i in range(3):
        serve_media(web, f"/pipe/v{i}.mp4", pieces[i].narration)
        url, answer = serve_article(web, f"/pipe/a{i}.html", pieces[i], f"/pipe/v{i}.mp4",
                                    **({"delay": 60.0, "until": video_done} if i == 2 else {}))
        urls.append(url)
    slow = answer
    listing = sources_file(tmp_path / "list.txt", urls + [urls[0]])  # the same source twice: once
    report = run_json("add", "--from-file", str(listing), "--jobs", "2", archive=tmp_path / "a")
    assert [a["status"] for a in report["articles"]] == ["ok"] * 3, report
    assert [a["url"] for a in report["articles"]] == urls
    transcripts = sorted((tmp_path / "a" / "transcripts").rglob("*.json"), key=lambda p: p.stat().st_mtime)
    assert len(transcripts) == 3
    assert transcripts[0].stat().st_mtime < slow.requests[0]["answered"], \
        "the first transcription waited for the slow article's download"
    check_consistent(tmp_path / "a")


def test_fetches_are_bounded_per_host_and_progress_shows_on_a_terminal(web, pieces, tmp_path):
    """--jobs 4 on one host: at most 2 requests at once; progress bars on stderr when it is a TTY."""
    in_flight = InFlight()
    urls = [serve_article(web, f"/host/a{i}.html", pieces[i], delay=1.0, in_flight=in_flight)[0] for i in range(5)]
    listing = sources_file(tmp_path / "list.txt", urls)
    code, out, text = run_on_terminal("add", "--from-file", str(listing), "--jobs", "4", archive=tmp_path / "a")
    assert code == 0, text[-2000:]
    assert in_flight.most == 2, f"{in_flight.most} requests at once to one host"
    assert "archiving" in text and "fetch:" in text and "transcribe:" in text, text[-2000:]
    assert out.count("no video found") == 5


# ---------------------------------------------------------------- 2. crash-safe resume


def test_killed_batches_resume_to_one_consistent_archive(web, pieces, tmp_path):
    """SIGKILL `add --from-file --jobs 2` at random moments, resume each time; at the end every
    article is archived exactly once, index and catalog agree, and no temp file is left."""
    seed = int(os.environ.get("KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    count = 6  # three rounds of the two jobs
    urls = []
    for i, piece in enumerate(pieces[:count]):
        serve_media(web, f"/kill/v{i}.mp4", piece.narration)
        urls.append(serve_article(web, f"/kill/a{i}.html", piece, f"/kill/v{i}.mp4")[0])
    listing = sources_file(tmp_path / "list.txt", urls)
    archive = tmp_path / "archive"
    command = [str(ARCHIVER), "--archive", str(archive), "add", "--from-file", str(listing), "--jobs", "2", "--json"]
    kills, runs, history, before = 0, 0, [], 0
    while kills < 5:
        runs += 1
        assert runs < 20, f"could not kill 5 runs (seed {seed}): {history}"
        with open(tmp_path / "err.txt", "wb") as err:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
            # the batch takes longer than 4 s (two at a time); once all is done a rerun is short
            moment = rng.uniform(1.0, 4.0) if before < count else rng.uniform(0.4, 1.5)
            try:
                process.wait(timeout=moment)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
        if process.returncode not in (0, -signal.SIGKILL):
            pytest.fail(f"run {runs} exited {process.returncode} (seed {seed}): {(tmp_path / 'err.txt').read_text()}")
        # every catalog claim of a killed run is backed by complete files (the index and temp files
        # are brought in line by the next run)
        catalog = check_consistent(archive, final=False) if (archive / "catalog.sqlite").exists() else \
            {"articles": []}
        done = sum(a["status"] == "ok" for a in catalog["articles"])
        history.append(f"{'killed' if process.returncode else 'ended'} at {moment:.1f} s with {done} done")
        assert done >= before, f"a killed run undid finished work (seed {seed}): {history}"
        before = done
    print(f"seed {seed}: {history}")  # KILL_SEED=<seed> replays the same moments
    final = subprocess.run(command, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert final.returncode == 0, f"seed {seed}, {history}: {final.stderr}"
    report = json.loads(final.stdout)
    assert [a["status"] for a in report["articles"]] == ["ok"] * count, report
    catalog = check_consistent(archive)
    assert sorted(a["source"] for a in catalog["articles"]) == sorted(urls)  # each exactly once
    assert [a["stage"] for a in catalog["articles"]] == ["done"] * count
    assert len(catalog["videos"]) == count and len({v["sha256"] for v in catalog["videos"]}) == count
    assert all(v["stage"] == "done" and v["status"] == "ok" for v in catalog["videos"])
    assert len(list((archive / "transcripts").rglob("*.json"))) == count
    for a in catalog["articles"]:
        assert a["indexed_docs"] == len(Archive.open(archive, readonly=True).article(a["id"]).sentences)
    hits = run_json("search", makemedia.keyword(pieces[0]), archive=archive)["hits"]
    assert hits and all(h["start"] is not None for h in hits if h["source"] == "transcript")


def test_killed_download_resumes_from_its_part_file(web, pieces, tmp_path):
    big = makemedia.with_picture(pieces[1].narration, tmp_path / "big.mp4", kbps=1200)
    _, video = serve_media(web, "/resume/big.mp4", big, rate=250_000)
    url, _ = serve_article(web, "/resume/a.html", pieces[1], "/resume/big.mp4")
    archive = tmp_path / "archive"
    process = subprocess.Popen([str(ARCHIVER), "--archive", str(archive), "add", url], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    part = None
    while time.time() < deadline and process.poll() is None:
        parts = list((archive / "media").glob(".tmp-*/*.part")) if (archive / "media").exists() else []
        if parts and parts[0].stat().st_size > big.stat().st_size // 4:
            part = parts[0]
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert part is not None, "the download never got under way"
    kept = part.stat().st_size
    video.rate = None
    report = run_json("add", url, archive=archive)
    assert report["articles"][0]["status"] == "ok", report
    assert max(video.ranges_asked(), default=0) >= kept * 0.9, "the download started over instead of resuming"
    (video_id,) = {v["id"] for v in report["articles"][0]["videos"]}
    assert run_json("show", video_id, archive=archive)["sha256"] == sha256_file(big)
    check_consistent(archive)


def test_status_shows_each_failure_and_retry_finishes_the_job(web, pieces, quick_config, tmp_path):
    page_url, page = serve_article(web, "/retry/broken.html", pieces[2])
    video_url, video = serve_media(web, "/retry/v.mp4", pieces[3].narration)
    linked_url, _ = serve_article(web, "/retry/linked.html", pieces[3], "/retry/v.mp4")
    direct_url, direct = serve_media(web, "/retry/direct.mp4", pieces[3].narration)
    page.broken, video.broken, direct.broken = 500, 404, 503
    archive = tmp_path / "archive"
    first = run_cli("--config", str(quick_config), "add", page_url, linked_url, direct_url, archive=archive)
    assert first.returncode == 1
    lines = error_lines(first)
    assert len(lines) == 3, first.stderr
    assert page_url in lines[0] and "500" in lines[0]
    assert linked_url in lines[1] and video_url in lines[1] and "404" in lines[1]
    assert direct_url in lines[2] and "503" in lines[2]

    status = run_json("status", archive=archive)
    failed = {row["id"]: row for row in status["articles"] + status["videos"] if row["status"] == "failed"}
    stages = sorted((row["stage"], row["error"].split(": ", 1)[0]) for row in failed.values())
    assert stages == sorted([("fetch", page_url), ("done", linked_url), ("download", video_url),
                             ("download", direct_url)]), failed
    table = run_cli("status", archive=archive, env={"COLUMNS": "400"})
    assert table.returncode == 0 and "HTTP 500" in table.stdout and "404" in table.stdout

    page.broken = video.broken = direct.broken = None
    again = run_json("retry", archive=archive)
    assert [a["status"] for a in again["articles"]] == ["ok", "ok"], again
    assert [v["status"] for v in again["videos"]] == ["ok"]
    status = run_json("status", archive=archive)
    assert all(row["status"] == "ok" for row in status["articles"] + status["videos"]), status
    assert not [v for v in status["videos"] if v["id"].startswith("failed-")]
    assert "nothing failed" in run_cli("retry", archive=archive).stdout
    check_consistent(archive)


def test_leftovers_of_a_killed_process_block_nothing(web, pieces, tmp_path):
    """A writer killed while holding the index lock and the archive lock, and temp files it left."""
    archive = tmp_path / "archive"
    url, _ = serve_article(web, "/stale/a.html", pieces[4])
    assert run_json("add", url, archive=archive)["articles"][0]["status"] == "ok"
    holder = subprocess.Popen([sys.executable, "-c", f"""
import fcntl, sys, time
sys.path.insert(0, {str(ROOT)!r})
from index.writer import open_index
from archiver.store.files import Layout
layout = Layout({str(archive)!r})
lock = open(layout.writer_lock, "a+b")
fcntl.flock(lock, fcntl.LOCK_EX)
writer = open_index(layout.index_dir).writer()
print("locked", flush=True)
time.sleep(600)
"""], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    for leftover in (archive / "articles" / ".tmp-x1", archive / "transcripts" / ".tmp-x2"):
        leftover.parent.mkdir(parents=True, exist_ok=True)
        leftover.write_bytes(b"half a file")
    started = time.time()
    other, _ = serve_article(web, "/stale/b.html", pieces[5])
    report = run_json("add", other, archive=archive, timeout=120)
    assert report["articles"][0]["status"] == "ok", report
    assert time.time() - started < 60
    check_consistent(archive)


# ---------------------------------------------------------------- 3. readers during writes


def test_searches_and_a_second_add_while_an_add_writes(web, pieces, tmp_path):
    """200 searches (with show and status) from another process while two adds write at once."""
    urls = []
    for i, piece in enumerate(pieces[:6]):
        serve_media(web, f"/busy/v{i}.mp4", piece.narration)
        urls.append(serve_article(web, f"/busy/a{i}.html", piece, f"/busy/v{i}.mp4")[0])
    archive = tmp_path / "archive"
    first = sources_file(tmp_path / "first.txt", urls[:4])
    second = sources_file(tmp_path / "second.txt", urls[2:])  # two articles in both batches
    words = [makemedia.keyword(piece) for piece in pieces[:6]] + ["the", "said OR says", "\"of the\""]
    adds = [subprocess.Popen([str(ARCHIVER), "--archive", str(archive), "add", "--from-file", str(listing),
                              "--jobs", "2", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True)
            for listing in (first, second)]
    stop = tmp_path / "readers.stop"
    readers = subprocess.Popen([sys.executable, str(ROOT / "tests" / "readers.py"), str(archive), "200", "0.04",
                                *words], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "READERS_STOP": str(stop)})
    cli_failures = []
    while any(p.poll() is None for p in adds):
        for args in (["status", "--json"], ["search", "strike", "--json"]):
            result = run_cli(*args, archive=archive)
            if result.returncode != 0 and "no archive" not in result.stderr:
                cli_failures.append((args, result.stderr))
        time.sleep(0.5)
    writing_ended = time.time()
    outputs = [p.communicate(timeout=600) for p in adds]
    for p, (out, err) in zip(adds, outputs):
        assert p.returncode == 0, err
        assert all(a["status"] == "ok" for a in json.loads(out)["articles"]), out
    stop.touch()  # the readers have run while both adds wrote; a few more after them is fine
    out, err = readers.communicate(timeout=600)
    assert readers.returncode == 0, err
    done = json.loads(out)
    assert done["errors"] == [], done["errors"][:3]
    assert done["searches"] >= 200 and done["statuses"] == done["searches"]
    assert max(done["totals"]) > min(done["totals"]), "the searches never saw the index change"
    # many searches while the adds wrote (how many depends on how fast the machine archives)
    assert sum(at < writing_ended for at in done["at"]) >= 50, "the searches did not run during the adds"
    assert cli_failures == []
    catalog = check_consistent(archive)
    assert len(catalog["articles"]) == 6 and len(catalog["videos"]) == 6
    shown = run_json("show", catalog["articles"][0]["id"], archive=archive)
    assert any(s["start"] is not None for s in shown["sentences"])


# ---------------------------------------------------------------- 4. network faults


def test_network_faults_are_retried_and_cut_downloads_resume(web, pieces, tmp_path):
    config = tmp_path / "faults.toml"
    config.write_text("[download]\nretries = 4\ntimeout = 2\n", encoding="utf-8")
    media = pieces[6].narration
    videos = {
        "503": serve_media(web, "/faults/v503.mp4", media, plan={0: 503, 1: 503}),
        "429": serve_media(web, "/faults/v429.mp4", media, plan={1: 429}),  # the download itself
        "cut": serve_media(web, "/faults/cut.mp4", media, plan={1: "cut"}),
        "cut, no ranges": serve_media(web, "/faults/cut-norange.mp4", media, plan={1: "cut"}, ranges=False),
        "stall": serve_media(web, "/faults/stall.mp4", media, plan={1: "stall"}),
    }
    pages = {
        "429": serve_article(web, "/faults/p429.html", pieces[6], "/faults/v503.mp4", plan={0: 429, 1: 429}),
        "503": serve_article(web, "/faults/p503.html", pieces[7], "/faults/v429.mp4", plan={0: 503}),
        "stall": serve_article(web, "/faults/stall.html", pieces[8], "/faults/cut.mp4", plan={0: "stall"}),
        "reset": serve_article(web, "/faults/reset.html", pieces[9], "/faults/cut-norange.mp4", plan={0: "reset"}),
    }
    archive = tmp_path / "archive"
    result = run_cli("--config", str(config), "add", *[u for u, _ in pages.values()], videos["stall"][0],
                     "--json", archive=archive)
    report = json.loads(result.stdout)
    assert result.returncode == 0, report
    assert [a["status"] for a in report["articles"]] == ["ok"] * 4
    assert [v["status"] for v in report["videos"]] == ["ok"]
    asked = {f"page {k}": len(a.requests) for k, (_, a) in pages.items()}
    asked.update({f"video {k}": len(a.requests) for k, (_, a) in videos.items()})
    assert asked == {"page 429": 3, "page 503": 2, "page stall": 2, "page reset": 2,  # then the page
                     "video 503": 4, "video 429": 3, "video cut": 3, "video cut, no ranges": 3,  # then probe,
                     "video stall": 3}, asked  # and download (again)
    half = len(media.read_bytes()) // 2
    assert 0 < videos["cut"][1].ranges_asked()[0] <= half, "the cut download did not resume"
    assert videos["cut, no ranges"][1].requests[2]["range"]  # asked to resume, got the whole file: restarted
    catalog = check_consistent(archive)
    assert len(catalog["videos"]) == 1 and catalog["videos"][0]["sha256"] == sha256_file(media)  # restarted cleanly
    assert len(list((archive / "transcripts").rglob("*.json"))) == 1


# ---------------------------------------------------------------- 5. bad inputs


HOSTILE_TITLE = "../../../../tmp/pwned/..\\..\\x \u202eevil\u202c عربي עברית 🎥🔥 a/b\\c "


@pytest.fixture(scope="module")
def bad_batch(web, pieces, odd, quick_config, tmp_path_factory):
    """One batch with every kind of bad input and some good ones: (archive, result, inputs)."""
    root = tmp_path_factory.mktemp("bad")
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()  # nothing listens there: connection refused
    good, _ = serve_article(web, "/bad/good.html", pieces[10], "/bad/good.mp4")
    serve_media(web, "/bad/good.mp4", pieces[10].narration)
    for name in ("silent", "mute", "audio", "corrupt", "empty"):
        serve_media(web, f"/bad/{odd[name].name}", odd[name])
    web.route("/bad/not-a-video.mp4", html_answer("<html><body><p>No video on this page.</p></body></html>"))
    serve_media(web, "/bad/drop.mp4", pieces[10].narration, plan={n: "cut" for n in range(1, 10)})
    serve_media(web, "/bad/shared.mp4", pieces[9].narration)
    serve_media(web, "/bad/twice.mp4", pieces[8].narration)
    serve_media(web, "/bad/..%2F..%2Fevil%00%E2%80%AE%F0%9F%8E%A5.mp4", pieces[7].narration)
    web.route("/bad/doc.pdf", Answer(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
                                     "application/pdf"))
    web.route("/bad/photo.png", Answer(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"))
    web.route("/bad/e500.html", html_answer("", plan={n: 500 for n in range(10)}))

    def page(name: str, piece, video_html: str = "", title: str | None = None) -> str:
        text = news_page(title or piece.title, piece.paragraphs, video_html, where=0)
        return web.route(f"/bad/{name}", html_answer(text))

    local_hostile = root / "..\u202eevil 🎥 تقرير.mp4"
    local_hostile.write_bytes(pieces[6].narration.read_bytes())
    inputs = {
        "good": good,
        "404": web.url("/bad/missing.html"),
        "500": web.url("/bad/e500.html"),
        "refused": f"http://127.0.0.1:{dead_port}/story.html",
        "pdf": web.url("/bad/doc.pdf"),
        "image": web.url("/bad/photo.png"),
        "no video": page("novideo.html", pieces[0]),
        "not a video": page("notvideo.html", pieces[1], video_tag("not-a-video.mp4")),
        "corrupt": page("corrupt.html", pieces[2], video_tag("corrupt.mp4")),
        "corrupt file": str(odd["corrupt"]),
        "empty": page("empty.html", pieces[3], video_tag("empty.mp4")),
        "empty file": str(odd["empty"]),
        "audio only": page("audio.html", pieces[4], video_tag("speech.mp3")),
        "silent": page("silent.html", pieces[5], video_tag("silent.mp4")),
        "no audio track": str(odd["mute"]),
        "huge title": page("huge.html", pieces[6], video_tag("good.mp4"), title="Breaking news " * 1500),
        "hostile title": web.route("/bad/..%2F..%2F%E2%80%AE%F0%9F%8E%A5%00.html",
                                   html_answer(news_page(HOSTILE_TITLE + "\x00", pieces[7].paragraphs,
                                                         video_tag("..%2F..%2Fevil%00%E2%80%AE%F0%9F%8E%A5.mp4"),
                                                         where=0))),
        "hostile file": str(local_hostile),
        "twice in one": page("twice.html", pieces[8], video_tag("twice.mp4") + '<p><a href="/bad/twice.mp4">'
                             'Watch</a> or <a href="twice.mp4?copy=1">this copy</a></p>'),
        "shared a": page("shared-a.html", pieces[9], video_tag("shared.mp4")),
        "shared b": page("shared-b.html", pieces[9], video_tag("/bad/shared.mp4")),
        "dropped": page("dropped.html", pieces[10], video_tag("drop.mp4")),
    }
    listing = [*inputs.values(), inputs["good"], inputs["shared a"], str(Path(os.path.relpath(odd["mute"])))]
    before = set(root.parent.iterdir())
    archive = root / "archive"
    result = run_cli("--config", str(quick_config), "add", "--from-file",
                     str(sources_file(root / "list.txt", listing)), "--jobs", "2", archive=archive)
    assert set(root.parent.iterdir()) == before, "something was written beside the archive"
    return archive, result, inputs


FAILS = {  # input -> what its error line says
    "404": "HTTP 404", "500": "HTTP 500", "refused": "cannot connect", "pdf": "application/pdf",
    "image": "image/png", "not a video": "not a video", "corrupt": "not a readable media file",
    "corrupt file": "not a readable media file", "empty": "empty file (0 bytes)",
    "empty file": "empty (0 bytes)", "dropped": "cutting the connection midway",
}


@pytest.mark.parametrize("name", sorted(FAILS))
def test_bad_input_gives_one_line_naming_it(bad_batch, name):
    _, result, inputs = bad_batch
    mine = [line for line in error_lines(result) if inputs[name] in line]
    assert len(mine) == 1, (name, result.stderr)
    assert FAILS[name] in mine[0], mine[0]
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr


def test_bad_inputs_leave_the_rest_of_the_batch_archived(bad_batch):
    archive, result, inputs = bad_batch
    assert result.returncode == 1
    assert len(error_lines(result)) == len(FAILS), result.stderr
    assert "Traceback" not in result.stderr
    assert all(len(line) < 300 for line in result.stdout.splitlines())  # a huge title is cut
    assert "\u202e" not in result.stdout + result.stderr  # a right-to-left override is shown, not obeyed
    shown = {}
    for line in result.stdout.splitlines():
        if line.startswith("ok") and " article " in line:
            shown.setdefault("articles", []).append(line)
    ok = {"good", "no video", "audio only", "silent", "huge title", "hostile title", "twice in one",
          "shared a", "shared b"}
    status = run_json("status", archive=archive)
    by_source = {a["source"]: a for a in status["articles"]}
    for name in ok:
        assert by_source[inputs[name]]["status"] == "ok", (name, by_source.get(inputs[name]))
    assert len(shown["articles"]) == len(ok)  # the same source twice in one call: once
    check_consistent(archive, leftovers=1)  # the download cut every time stays, to resume


def test_article_without_video_is_archived_and_says_so(bad_batch):
    archive, result, inputs = bad_batch
    assert "note: no video found in the article" in result.stdout
    status = run_json("status", archive=archive)
    (row,) = [a for a in status["articles"] if a["source"] == inputs["no video"]]
    assert row["status"] == "ok" and "no video" in row["note"]
    assert run_json("show", row["id"], archive=archive)["videos"] == []


def _video_of(archive: Path, source: str) -> dict:
    status = run_json("status", archive=archive)
    (article,) = [a for a in status["articles"] if a["source"] == source]
    shown = run_json("show", article["id"], archive=archive)
    (video,) = shown["videos"]
    return run_json("show", video["id"], archive=archive)


def test_audio_only_file_is_archived(bad_batch, pieces):
    archive, _, inputs = bad_batch
    video = _video_of(archive, inputs["audio only"])
    text = " ".join(s["text"] for s in video["segments"]).lower()
    assert video["status"] == "ok" and len(text.split()) > 10, text


def test_silent_videos_get_an_empty_transcript(bad_batch):
    archive, result, inputs = bad_batch
    video = _video_of(archive, inputs["silent"])
    assert video["status"] == "ok" and video["segments"] == [], video["segments"]
    status = run_json("status", archive=archive)
    (mute,) = [v for v in status["videos"] if v["url"] == str(Path(inputs["no audio track"]).resolve())]
    assert mute["status"] == "ok"
    assert run_json("show", mute["id"], archive=archive)["segments"] == []
    assert all(h["video_id"] not in (video["id"], mute["id"])
               for h in run_json("search", "you", archive=archive)["hits"])


def test_hostile_titles_stay_text_and_ids_stay_paths(bad_batch):
    archive, _, inputs = bad_batch
    status = run_json("status", archive=archive)
    for row in status["articles"] + status["videos"]:
        assert SAFE_ID.match(row["id"]) and len(row["id"]) <= 100, row["id"]
    (article,) = [a for a in status["articles"] if a["source"] == inputs["hostile title"]]
    shown = run_json("show", article["id"], archive=archive)
    assert "🎥" in shown["title"] and "عربي" in shown["title"] and "\x00" not in shown["title"]
    assert "\u202e" not in run_cli("status", archive=archive).stdout  # shown as an escape, not obeyed
    (video,) = shown["videos"]
    assert video["url"].startswith(inputs["good"].rsplit("/", 1)[0]) and "%2F" in video["url"]
    (local,) = [v for v in status["videos"] if v["url"] == inputs["hostile file"]]
    assert local["status"] == "ok" and local["title"] == Path(inputs["hostile file"]).stem
    (huge,) = [a for a in status["articles"] if a["source"] == inputs["huge title"]]
    assert len(huge["id"]) < 80 and huge["title"].startswith("Breaking news")
    for path in archive.rglob("*"):
        assert path.resolve().is_relative_to(archive.resolve()) and len(path.name.encode()) < 120, path
        assert path.name.isascii(), path


def test_same_video_twice_is_one_video(bad_batch):
    archive, _, inputs = bad_batch
    status = run_json("status", archive=archive)
    twice = _video_of(archive, inputs["twice in one"])
    article = [a for a in status["articles"] if a["source"] == inputs["twice in one"]][0]
    assert twice["articles"] == [article["id"]]
    shared = _video_of(archive, inputs["shared a"])
    assert shared == _video_of(archive, inputs["shared b"]) and len(shared["articles"]) == 2
    shas = Counter(v["sha256"] for v in status["videos"] if v["sha256"])
    assert shas[twice["sha256"]] == 1 and shas[shared["sha256"]] == 1
    transcripts = list((archive / "transcripts").rglob("*.json"))
    assert len(transcripts) == len({v["id"] for v in status["videos"] if v["stage"] == "done"})
