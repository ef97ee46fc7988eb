"""Shared test fixtures: the real inputs in tests/fixtures, a loopback HTTP server that the
tests start and stop themselves, and the real `archiver` command.

FIXTURES and SEED are the paths every test names fixtures by (defined once, in
tests/support/, which the benchmarks import too)."""
from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

from support import FIXTURES, ROOT, SEED, ffmpeg  # noqa: F401 (re-exported: tests import them from here)
from support.articles import ARTICLES
from support.fuzz import load_profile

load_profile()  # Hypothesis: HYPOTHESIS_PROFILE, ARCHIVER_FUZZ_EXAMPLES (see support/fuzz.py)

ARCHIVER = Path(sys.executable).parent / "archiver"


def seed_truth() -> dict:
    return json.loads((SEED / "truth.json").read_text(encoding="utf-8"))


def seed_paragraphs() -> list[str]:
    return list(ARTICLES["seed"].paragraphs)


def news_page(title: str, paragraphs: list[str], video_html: str, where: int = 2) -> str:
    """An HTML news page with chrome around the article, the video placed after paragraph `where`."""
    body = []
    for i, p in enumerate(paragraphs):
        body.append(f"<p>{html.escape(p)}</p>")
        if i == where:
            body.append(video_html)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | Example News</title>
<meta property="og:title" content="{html.escape(title)}"></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/about">About us</a></nav></header>
<main><article><h1>{html.escape(title)}</h1>
<p class="byline">By <a href="/authors/desk">Staff Reporter</a>, <time datetime="2020-03-20">March 20, 2020</time></p>
{''.join(body)}
</article>
<aside><h2>Related</h2><ul><li><a href="/a">Other story one</a></li><li><a href="/b">Other story two</a></li></ul></aside></main>
<footer><p>Copyright 2020 Example News. All rights reserved.</p></footer></body></html>"""


class Handler(SimpleHTTPRequestHandler):
    routes: dict[str, Callable[[SimpleHTTPRequestHandler], None]] = {}
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.hits.append(self.path)
        route = self.routes.get(self.path.split("?")[0])
        if route:
            route(self)
        else:
            super().do_GET()

    def do_HEAD(self):  # noqa: N802
        self.hits.append("HEAD " + self.path)
        super().do_HEAD()

    def log_message(self, *args):
        pass


class LoopbackServer:
    def __init__(self, root: Path):
        self.root = root
        handler = type("H", (Handler,), {"routes": {}, "hits": []})
        self.handler = handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def route(self, path: str, func: Callable[[SimpleHTTPRequestHandler], None]) -> str:
        self.handler.routes[path] = func
        return self.url(path)

    def hits(self, needle: str) -> int:
        return sum(1 for h in self.handler.hits if needle in h)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Clip:
    """A cut of the seed narration from its start: the video, and the truth of the sentences in it."""

    path: Path
    sentences: list[dict]


@pytest.fixture(scope="session")
def seed_clip(tmp_path_factory) -> Clip:
    """The seed narration's first two sentences: 14 s of the real recording, picture and sound.
    For end-to-end tests whose subject is not the speech (a 404 failing alone, a link page, no
    ffmpeg on PATH), so that Whisper takes a few seconds instead of half a minute; tests that
    assert on the whole transcript, its timings or its words use the full narration."""
    sentences = seed_truth()["sentences"]
    end = (sentences[1]["end"] + sentences[2]["start"]) / 2  # in the pause before the third
    path = tmp_path_factory.mktemp("seed-clip") / "clip.mp4"
    ffmpeg("-i", str(SEED / "narration.mp4"), "-t", f"{end:.3f}", "-c", "copy", str(path))
    return Clip(path, sentences[:2])


@pytest.fixture(scope="session")
def site(tmp_path_factory, seed_clip) -> LoopbackServer:
    """A loopback site: the seed article as an HTML page with a <video> of the whole narration,
    and as one with an <a href> to the short clip of it (`seed_clip`)."""
    root = tmp_path_factory.mktemp("site")
    shutil.copy(SEED / "narration.mp4", root / "report.mp4")
    shutil.copy(seed_clip.path, root / "clip.mp4")
    title = "ISIS Threat Revives in Eastern Syria"
    (root / "video-page.html").write_text(
        news_page(title, seed_paragraphs(), '<figure><video controls src="report.mp4"></video></figure>'), encoding="utf-8")
    (root / "link-page.html").write_text(
        news_page(title, seed_paragraphs(), '<p>Watch: <a href="/clip.mp4">the video report</a></p>'), encoding="utf-8")
    server = LoopbackServer(root)
    yield server
    server.close()


def run_cli(*args: str, archive: Path | None = None, env: dict | None = None, check: bool = False,
            timeout: float = 900) -> subprocess.CompletedProcess:
    cmd = [str(ARCHIVER)] + (["--archive", str(archive)] if archive else []) + list(args)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} exited {result.returncode}: {result.stderr}")
    return result


def run_on_terminal(*args: str, archive: Path, timeout: float = 600) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (progress bars show only there):
    (exit code, stdout, what stderr showed with the terminal escapes removed)."""
    import pty
    import re
    import select
    import time

    master, slave = pty.openpty()
    process = subprocess.Popen([str(ARCHIVER), "--archive", str(archive), *args], stdout=subprocess.PIPE,
                               stderr=slave, stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "160"})
    os.close(slave)
    shown, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    out, _ = process.communicate(timeout=60)
    os.close(master)
    return process.returncode, out.decode(), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace"))


def run_json(*args: str, archive: Path, **kwargs) -> dict:
    result = run_cli(*args, "--json", archive=archive, **kwargs)
    assert result.stdout.strip(), f"no JSON on stdout; stderr: {result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def seed_archive(tmp_path_factory, site) -> tuple[Path, dict]:
    """One archive with the seed page (<video>) added through the CLI: (archive dir, add report)."""
    archive = tmp_path_factory.mktemp("seed-archive")
    report = run_json("add", site.url("video-page.html"), archive=archive)
    return archive, report


@pytest.fixture(scope="session")
def bare_archive(tmp_path_factory) -> Path:
    """The seed narration archived as a video without its article (so only its transcript is indexed)."""
    archive = tmp_path_factory.mktemp("bare-archive")
    run_cli("add", str(SEED / "narration.mp4"), archive=archive, check=True)
    return archive
