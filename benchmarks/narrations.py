#!/usr/bin/env python3
"""Narrated test articles with exact sentence timings, for the benchmarks.

Each CASE pairs an article of tests/support/articles.py with options of the narration
generator tests/support/narrate.py (voice, speed, intro/outro, skipped or swapped
paragraphs, noise, music). `build(case)` returns a directory holding:

  narration.mp4   the article read aloud (AAC mono in MP4)
  truth.json      where every sentence is spoken (see tests/support/narrate.py)
  article.txt     the article as plain text, paragraphs separated by blank lines
  article.md      the article as a Markdown news page (title, byline, date, theme, boilerplate)
  article.html    the article as an HTML news page (header, nav, sidebar, footer)

In article.md and article.html the video link is the relative name VIDEO_URL
("narration.mp4"), so article.html plays the video when opened from the directory.
A caller that serves the video elsewhere (e.g. from a local HTTP server) replaces it:
`page(case_dir, "md", "http://127.0.0.1:8000/x/narration.mp4")`.

Builds are cached under CACHE_DIR, keyed by a hash of the case, its article text and the
generator's source, so editing any of them makes a fresh build.

CLI: python benchmarks/narrations.py [--case NAME] [--list] [--cache-dir DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support import narrate as generator  # noqa: E402
from support.articles import ARTICLES, Article  # noqa: E402

CACHE_DIR = ROOT / "benchmarks" / ".cache" / "narrations"
VIDEO_URL = "narration.mp4"  # placeholder for the video link in article.md / article.html


@dataclass(frozen=True)
class Case:
    name: str
    article: str  # key of ARTICLES
    voice: str = "piper"  # piper | espeak:<voice> | flite:<voice>
    speed: float = 1.0
    intro: str = ""
    outro: str = ""
    skip: tuple[int, ...] = ()
    swap: tuple[int, int] | None = None
    noise_db: float | None = None
    music_db: float | None = None

    def options(self) -> dict:
        """Keyword arguments of tests/support/narrate.py's narrate() for this case."""
        return {"voice": self.voice, "speed": self.speed, "intro": self.intro, "outro": self.outro, "skip": self.skip,
                "swap": self.swap, "noise_db": self.noise_db, "music_db": self.music_db}


INTRO = ("Good evening, and welcome to the Evening Briefing from our newsroom in Lisbon. "
         "I am Catarina Duarte, and here is tonight's top story.")
OUTRO = ("That was our report for tonight. Please subscribe to our channel for more news, "
         "and join us again tomorrow at the same time.")

CASES = [
    Case("seed-piper-intro-outro", "seed", "piper", 1.15, intro=INTRO, outro=OUTRO),
    Case("seed-espeak-us", "seed", "espeak:en-us", 1.05),
    Case("seed-flite-rms-swap", "seed", "flite:rms", 1.2, swap=(2, 3)),
    Case("ports-piper-slow", "ports", "piper", 0.9),
    Case("ports-espeak-rp-noise", "ports", "espeak:en-gb-x-rp", 1.0, noise_db=-20),
    Case("floods-espeak-m3-skip", "floods", "espeak:en+m3", 1.1, skip=(2,)),
    Case("floods-flite-slt-music", "floods", "flite:slt", 1.0, music_db=-18),
    Case("caspian-espeak-f2-fast", "caspian", "espeak:en-us+f2", 1.2),
    Case("caspian-flite-awb-swap", "caspian", "flite:awb", 0.95, swap=(1, 2)),
]
BY_NAME = {c.name: c for c in CASES}


# --- tools ------------------------------------------------------------------------------

def missing_tools(cases: list[Case] = CASES) -> list[str]:
    """What the generator would lack for these cases, with the package that brings it."""
    return generator.missing_tools({c.voice for c in cases})


def ensure_tools(cases: list[Case] = CASES) -> None:
    """Install nothing; raise naming every missing tool, so callers can say what to install."""
    missing = missing_tools(cases)
    if missing:
        raise RuntimeError("narrations need: " + "; ".join(missing))


# --- build ------------------------------------------------------------------------------

def case_key(case: Case) -> str:
    """Hash of everything that shapes the audio: the case, its article text, the generator's source."""
    h = hashlib.sha256(json.dumps(asdict(case), sort_keys=True).encode())
    h.update(ARTICLES[case.article].text.encode())
    h.update(Path(generator.__file__).read_bytes())
    return h.hexdigest()[:12]


def build(case: Case | str, cache_dir: Path = CACHE_DIR) -> Path:
    """The directory of a case's narration and pages, generated unless already cached."""
    case = BY_NAME[case] if isinstance(case, str) else case
    article = ARTICLES[case.article]
    out = Path(cache_dir) / f"{case.name}-{case_key(case)}"
    if not (out / "truth.json").exists() or not (out / "narration.mp4").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        # Generate in a sibling temp dir and rename, so an interrupted run leaves no half case.
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".tmp-") as td:
            work = Path(td) / "case"
            generator.narrate(article.text, work, **case.options())
            shutil.rmtree(out, ignore_errors=True)
            try:
                work.rename(out)
            except OSError:  # another process finished the same case first
                if not (out / "truth.json").exists():
                    raise
    # Drop this case's builds under older keys, so the cache does not grow with each edit.
    for old in out.parent.glob(f"{case.name}-*"):
        if old != out and re.fullmatch(re.escape(case.name) + r"-[0-9a-f]{12}", old.name):
            shutil.rmtree(old, ignore_errors=True)
    # Pages are cheap and not part of the key: rewrite them when their template changed.
    for name, text in (("article.txt", article.text), ("article.md", markdown_page(article)),
                       ("article.html", html_page(article))):
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            tmp = path.with_name(f".{name}.{os.getpid()}")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)  # atomic, so a concurrent reader never sees half a page
    return out


def page(case_dir: Path, kind: str, video_url: str) -> str:
    """article.md or article.html of a built case with the video link pointing at video_url."""
    return (Path(case_dir) / f"article.{kind}").read_text(encoding="utf-8").replace(VIDEO_URL, video_url)


# --- pages ------------------------------------------------------------------------------

def long_date(iso: str) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]
    return f"{months[m - 1]} {d}, {y}"


def video_after(article: Article) -> int:
    """Index of the paragraph after which the page puts the video (mid-body, like the seed)."""
    return max(0, len(article.paragraphs) // 2 - 1)


def markdown_page(a: Article) -> str:
    """The article as a scraped news page in Markdown, with the seed page's kind of chrome."""
    year = a.date[:4]
    body = []
    for i, p in enumerate(a.paragraphs):
        body.append(p)
        if i == video_after(a):
            body.append(f"[{VIDEO_URL}]({VIDEO_URL})")
    head = [f"## {a.title}", f"By [{a.author}](#)", f"{a.outlet}, {long_date(a.date)}",
            "Theme: " + ", ".join(f"[{t}](#)" for t in a.themes)]
    tail = [
        "\\*",
        "Note to readers: please click the share buttons above or below. Forward this article to your "
        "email lists. Crosspost on your blog site, internet forums. etc.",
        f"The original source of this article is [{a.outlet}](#)  \nCopyright © [{a.author}](#), [{a.outlet}](#), {year}",
        "---",
        f"[Comment on {a.outlet} articles on our Facebook page](#)",
        f"Articles by: [{a.author}](#)",
        f"**Disclaimer:** The contents of this article are of sole responsibility of the author(s). {a.outlet} "
        "will not be responsible for any inaccurate or incorrect statement in this article. Republication "
        "is permitted as long as the source and copyright are acknowledged together with a hyperlink to the original article.",
    ]
    return "\n\n".join(head + body + tail) + "\n"


def html_page(a: Article) -> str:
    """The article as an HTML news page: header, nav, article with video, sidebar, footer."""
    e = html.escape
    paras = []
    for i, p in enumerate(a.paragraphs):
        paras.append(f"      <p>{e(p)}</p>")
        if i == video_after(a):
            paras.append(f'      <figure><video controls src="{VIDEO_URL}"></video>'
                         f"<figcaption>Video report</figcaption></figure>")
    themes = " ".join(f'<a href="#" rel="tag">{e(t)}</a>' for t in a.themes)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{e(a.title)} | {e(a.outlet)}</title>
</head>
<body>
  <header class="site-header">
    <a class="logo" href="#">{e(a.outlet)}</a>
    <nav><a href="#">World</a> <a href="#">Politics</a> <a href="#">Economy</a> <a href="#">Climate</a> <a href="#">Video</a> <a href="#">Subscribe</a></nav>
  </header>
  <main>
    <article>
      <h1>{e(a.title)}</h1>
      <p class="byline">By <a href="#" rel="author">{e(a.author)}</a>, {e(a.outlet)} &middot; <time datetime="{a.date}">{long_date(a.date)}</time></p>
      <p class="tags">Theme: {themes}</p>
{chr(10).join(paras)}
      <div class="share">Share this article: <a href="#">Facebook</a> <a href="#">X</a> <a href="#">Email</a></div>
    </article>
    <aside class="related">
      <h2>Related</h2>
      <ul>
        <li><a href="#">Markets react as talks stall for a second week</a></li>
        <li><a href="#">Analysis: what the agreement means for the region</a></li>
        <li><a href="#">Photos: the week in pictures</a></li>
      </ul>
    </aside>
  </main>
  <footer>
    <p>Note to readers: please click the share buttons above or below. Forward this article to your email lists.</p>
    <p>Copyright &copy; {a.date[:4]} {e(a.outlet)}. All rights reserved. <a href="#">Privacy</a> <a href="#">Terms</a> <a href="#">Contact</a></p>
  </footer>
</body>
</html>
"""


# --- CLI --------------------------------------------------------------------------------

def describe(case: Case) -> str:
    a = ARTICLES[case.article]
    n = sum(len(generator.sentences(p)) for p in a.paragraphs)
    extras = [k for k in ("intro", "outro", "skip", "swap", "noise_db", "music_db") if getattr(case, k)]
    return f"{case.name:26} {case.voice:18} x{case.speed:<5} {len(a.paragraphs)} paragraphs, {n} sentences {' '.join(extras)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", choices=sorted(BY_NAME), help="build only this case")
    ap.add_argument("--list", action="store_true", help="list the cases and build nothing")
    ap.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    args = ap.parse_args()
    cases = [BY_NAME[args.case]] if args.case else CASES
    if args.list:
        for c in cases:
            print(describe(c))
        return
    try:
        ensure_tools(cases)
    except RuntimeError as err:
        raise SystemExit(str(err))
    for c in cases:
        t0 = time.monotonic()
        out = build(c, args.cache_dir)
        truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
        print(f"{out}  {truth['duration']:.1f} s audio, {len(truth['sentences'])} sentences, {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main()
