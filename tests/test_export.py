"""`archiver export` and `archiver verify`, with the bundle opened from file:// in Debian's Chromium.

The browser is the real one a reviewer would use, started without special flags (no
--allow-file-access-from-files): each file:// page is its own origin there, which is why
the bundle embeds its data instead of fetching it. Screenshots of an article page at
desktop and phone width land in test-output/ for a human to look at.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from archiver.media import ffmpeg_exe
from archiver.verify import OUTSIDE_MANIFEST
from conftest import ROOT, LoopbackServer, news_page, run_cli, run_json, seed_paragraphs

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SHOTS = ROOT / "test-output"

# Web text that tries everything: closing the JSON block, inline handlers, javascript: links.
HOSTILE_TITLE = 'Evil </script><script>window.pwned=1</script><img src=x onerror="window.pwned=2"> report'
HOSTILE_PARAGRAPH = ('The council said </script><script>window.pwned=3</script> nothing new. '
                     'A reader wrote <img src=x onerror=window.pwned=4> and <a href="javascript:window.pwned=5">this</a>.')


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("Debian's chromium is not installed; run `make test`, which installs it (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed in .venv; run `make test`, which installs it")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Tab:
    """A page plus everything it did that a bundle page must not do."""

    def __init__(self, browser, width: int = 1366, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, path: Path, wait_video: bool = True):
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")
        if wait_video:
            self.page.wait_for_function("() => [...document.querySelectorAll('video')].every(v => v.readyState >= 1)")
        return self.page

    def clean(self) -> None:
        assert not self.errors, f"console errors (a CSP violation shows here): {self.errors}"
        assert not self.dialogs
        assert all(url.startswith(("file://", "data:")) for url in self.requests), \
            f"the bundle loaded something that is not local: {[u for u in self.requests if not u.startswith('file:')]}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser):
    t = Tab(browser)
    yield t
    t.close()


def export(archive: Path, out: Path, *args: str) -> Path:
    result = run_cli("export", *args, "--out", str(out), archive=archive)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def seed(seed_archive, tmp_path_factory) -> dict:
    """The seed archive exported whole: {"bundle", "article" (show JSON), "video" (show JSON)}."""
    archive, report = seed_archive
    article_id = report["articles"][0]["id"]
    bundle = export(archive, tmp_path_factory.mktemp("seed-bundle") / "review", "--all")
    article = run_json("show", article_id, archive=archive)
    video = run_json("show", article["videos"][0]["id"], archive=archive)
    return {"bundle": bundle, "article": article, "video": video, "archive": archive}


@pytest.fixture(scope="module")
def more_articles(seed_archive, site, tmp_path_factory) -> dict:
    """A copy of the seed archive with two more articles on the same video (no new download or
    transcription): one edited (a paragraph left out, one added) and one written to attack."""
    root = Path(site.root)
    paragraphs = seed_paragraphs()
    edited = paragraphs[:3] + paragraphs[4:]
    edited.insert(2, "Local officials told reporters that the checkpoint near the river was reopened on "
                     "Thursday. Residents said the queues lasted for hours.")
    (root / "edited-page.html").write_text(
        news_page("Eastern Syria: the edited report", edited, '<video controls src="report.mp4"></video>'),
        encoding="utf-8")
    hostile_video = ('<video controls src="report.mp4" onerror="window.pwned=6"></video>'
                     '<p><a href="javascript:window.pwned=7">watch</a> <a href="jAvAsCrIpT:window.pwned=8//.mp4">mp4</a></p>'
                     '<script>window.pwned=9</script>')
    (root / "hostile-page.html").write_text(
        news_page(HOSTILE_TITLE, [HOSTILE_PARAGRAPH] + paragraphs[:2], hostile_video, where=0), encoding="utf-8")
    # an article with two videos, both transcribed: the narration's first two sentences (the
    # site's clip) and its last two, short so that their transcription takes seconds
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-ss", "155.5", "-i", str(root / "report.mp4"), "-c", "copy",
                    str(root / "part-b.mp4")], check=True)
    (root / "two-videos.html").write_text(
        news_page("Eastern Syria in two parts", paragraphs,
                  '<video controls src="clip.mp4"></video><video controls src="part-b.mp4"></video>'), encoding="utf-8")
    archive = tmp_path_factory.mktemp("more") / "archive"
    shutil.copytree(seed_archive[0], archive)
    report = run_json("add", site.url("edited-page.html"), site.url("hostile-page.html"), site.url("two-videos.html"),
                      archive=archive)
    assert not report["errors"], report
    edited_id, hostile_id, two_id = (a["id"] for a in report["articles"])
    assert not any(v["downloaded"] or v["transcribed"] for a in report["articles"][:2] for v in a["videos"])
    return {"archive": archive, "edited": edited_id, "hostile": hostile_id, "two": two_id}


def article_page(bundle: Path, article_id: str) -> Path:
    return bundle / "articles" / article_id / "index.html"


def video_state(page) -> dict:
    return page.evaluate("""() => { const v = [...document.querySelectorAll('video')].find(v => !v.closest('[hidden]'));
        return {t: v.currentTime, paused: v.paused, ready: v.readyState}; }""")


# ---------------------------------------------------------------- the bundle on disk


def test_bundle_layout_files_for_other_tools_and_manifest(seed):
    bundle, article, video = seed["bundle"], seed["article"], seed["video"]
    a, v = article["id"], video["id"]
    for path in ["index.html", "search.json", "manifest.json", "assets/app.js", "assets/words.js", "assets/style.css",
                 f"articles/{a}/index.html", f"articles/{a}/article.json", f"articles/{a}/show.json",
                 f"articles/{a}/alignments/{v}.json", f"videos/{v}/index.html", f"videos/{v}/media.mp4",
                 f"videos/{v}/info.json", f"videos/{v}/transcript.json", f"videos/{v}/{v}.vtt", f"videos/{v}/{v}.srt"]:
        assert (bundle / path).is_file(), path
    archive = seed["archive"]
    assert (bundle / f"videos/{v}/media.mp4").read_bytes() == (archive / "media" / v / "media.mp4").read_bytes()
    assert json.loads((bundle / f"videos/{v}/info.json").read_text()) == \
        json.loads((archive / "media" / v / "info.json").read_text())
    shown = json.loads((bundle / f"articles/{a}/show.json").read_text())
    assert shown["sentences"] == article["sentences"]

    segments = [s for s in video["segments"] if s["text"].strip()]
    vtt = (bundle / f"videos/{v}/{v}.vtt").read_text()
    assert vtt.startswith("WEBVTT\n\n")
    assert len(re.findall(r"^\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}$", vtt, re.M)) == len(segments)
    srt = (bundle / f"videos/{v}/{v}.srt").read_text()
    times = re.findall(r"^(\d\d):(\d\d):(\d\d),(\d{3}) --> ", srt, re.M)
    assert len(times) == len(segments)
    first = times[0]
    assert abs(int(first[1]) * 60 + int(first[2]) + int(first[3]) / 1000 - segments[0]["start"]) < 0.002

    manifest = json.loads((bundle / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - OUTSIDE_MANIFEST
    assert listed == on_disk
    assert manifest["articles"][0]["url"] == article["url"] and manifest["articles"][0]["fetched_at"]
    assert manifest["videos"][0]["url"] == video["url"] and manifest["videos"][0]["fetched_at"]
    assert manifest["videos"][0]["sha256"] == video["sha256"]


def test_verify_passes_then_names_the_changed_missing_and_added_files(seed, tmp_path):
    ok = run_cli("verify", str(seed["bundle"]))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("ok: ") and "manifest sha256" in ok.stdout

    copy = tmp_path / "copy"
    shutil.copytree(seed["bundle"], copy)  # a real copy: the media in the bundle may be a hard link into the archive
    v = seed["video"]["id"]
    media = copy / "videos" / v / "media.mp4"
    data = bytearray(media.read_bytes())
    data[len(data) // 2] ^= 0x01
    media.write_bytes(bytes(data))
    bad = run_cli("verify", str(copy))
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [line for line in bad.stdout.splitlines() if line.startswith("changed: ")]
    assert f"changed: videos/{v}/media.mp4" in bad.stdout

    (copy / "videos" / v / f"{v}.srt").unlink()
    (copy / "assets" / "extra.js").write_text("window.pwned = 1")
    worse = run_cli("verify", str(copy))
    assert worse.returncode == 1
    lines = worse.stdout.splitlines()
    assert len(lines) == 3, lines  # one line per problem
    assert f"missing: videos/{v}/{v}.srt" in lines
    assert any(line.startswith("unexpected: assets/extra.js") for line in lines)


def test_zip_bundle_verifies_and_names_a_changed_member(seed_archive, tmp_path):
    archive, _ = seed_archive
    result = run_cli("export", "--all", "--zip", "--out", str(tmp_path / "review"), archive=archive)
    assert result.returncode == 0, result.stderr
    bundle = tmp_path / "review.zip"
    assert bundle.is_file() and not (tmp_path / "review").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")], "temp files left behind"
    ok = run_cli("verify", str(bundle))
    assert ok.returncode == 0, ok.stdout + ok.stderr

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "review/index.html":
                data = data.replace(b"Review bundle", b"Review bundlE", 1)
            dst.writestr(info, data)
    bad = run_cli("verify", str(tampered))
    assert bad.returncode == 1
    assert bad.stdout.strip().startswith("changed: index.html")

    with zipfile.ZipFile(tampered, "a") as z:  # a file beside the bundle folder
        z.writestr("run-me.html", "<script>alert(1)</script>")
    worse = run_cli("verify", str(tampered))
    assert worse.returncode == 1 and len(worse.stdout.splitlines()) == 2
    assert "unexpected: run-me.html" in worse.stdout


def test_no_media_export_and_replacing_an_earlier_bundle(seed_archive, tmp_path):
    archive, _ = seed_archive
    out = export(archive, tmp_path / "review", "--all")
    assert list(out.glob("videos/*/media.*"))
    export(archive, out, "--all", "--no-media")  # replaces the earlier bundle
    assert not list(out.glob("videos/*/media.*"))
    assert "Media not included" in next(out.glob("articles/*/index.html")).read_text()
    assert run_cli("verify", str(out)).returncode == 0
    assert json.loads((out / "manifest.json").read_text())["media_included"] is False

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("not a bundle")
    refused = run_cli("export", "--all", "--out", str(tmp_path / "notes"), archive=archive)
    assert refused.returncode == 1 and "not an earlier bundle" in refused.stderr
    assert (tmp_path / "notes" / "mine.txt").exists()
    for args in ([], ["nope-123"]):
        failed = run_cli("export", *args, "--out", str(tmp_path / "x"), archive=archive)
        assert failed.returncode == 1 and failed.stderr.startswith("error: ") and len(failed.stderr.splitlines()) == 1


def test_escaping_helpers():
    from archiver.export import embed_json, safe_href, to_vtt

    assert embed_json({"t": "</script><!--&"}) == '{"t":"\\u003c/script\\u003e\\u003c!--\\u0026"}'
    assert json.loads(embed_json({"t": "</script>\u2028"})) == {"t": "</script>\u2028"}
    for url in ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,x",
                "vbscript:x", "//evil.example/x", "mailto:a@b", "", None, "../relative.html"]:
        assert safe_href(url) is None, url
    for url in ["https://example.org/a?b=1&c=<2>", "http://127.0.0.1:8000/x.html", "file:///tmp/a.mp4"]:
        assert safe_href(url) == url
    vtt = to_vtt([{"start": 0.0, "end": 0.0, "text": "a --> b <i>&\n\nc"}])
    assert vtt == "WEBVTT\n\n1\n00:00:00.000 --> 00:00:00.010\na --&gt; b &lt;i&gt;&amp; c\n"


# ---------------------------------------------------------------- in the browser


def test_clicking_a_sentence_seeks_and_the_transcript_follows(seed, tab):
    article = seed["article"]
    page = tab.open(article_page(seed["bundle"], article["id"]))
    spoken = [s for s in article["sentences"] if s["start"] is not None and s["start"] > 30]
    for sentence in (spoken[0], spoken[len(spoken) // 2], spoken[-1]):
        page.click(f"#s-{sentence['index']}")
        state = video_state(page)
        assert abs(state["t"] - sentence["start"]) < 0.5, (sentence, state)
        assert page.evaluate(f"document.getElementById('s-{sentence['index']}').classList.contains('playing')")
        current = page.evaluate("""() => { const c = document.querySelector('.segments .current');
            return c && [parseFloat(c.dataset.t), parseFloat(c.dataset.e)]; }""")
        assert current and current[0] - 0.1 <= state["t"] <= current[1] + 0.3, (current, state)
    # a click in the transcript seeks too
    segment = seed["video"]["segments"][5]
    page.click(".segments .seg >> nth=5")
    assert abs(video_state(page)["t"] - segment["start"]) < 0.5
    page.evaluate("document.querySelector('video').pause()")
    tab.clean()


def test_subtitle_track_is_built_from_the_page_data(seed, tab):
    page = tab.open(article_page(seed["bundle"], seed["article"]["id"]))
    expected = len([s for s in seed["video"]["segments"] if s["text"].strip()])
    track = page.evaluate("""() => { const t = document.querySelector('video').textTracks[0];
        return t && {kind: t.kind, mode: t.mode, cues: t.cues.length, first: t.cues[0].text}; }""")
    assert track == {"kind": "subtitles", "mode": "showing", "cues": expected,
                     "first": html.escape(" ".join(seed["video"]["segments"][0]["text"].split()), quote=False)}
    target = seed["video"]["segments"][3]
    page.evaluate(f"document.querySelector('video').currentTime = {(target['start'] + target['end']) / 2}")
    page.wait_for_function("() => document.querySelector('video').textTracks[0].activeCues.length > 0", timeout=5000)
    tab.clean()


def test_the_vtt_file_parses_in_chromium(seed, browser):
    """The .vtt next to the pages, through Chromium's own WebVTT parser (over loopback HTTP:
    from file:// Chromium refuses <track src>, which is why the pages do not use it)."""
    server = LoopbackServer(seed["bundle"])
    t = Tab(browser)
    try:
        v = seed["video"]["id"]
        t.page.goto(server.url(f"videos/{v}/index.html"))
        cues = t.page.evaluate("""(src) => new Promise((resolve, reject) => {
            const el = document.createElement('track');
            el.kind = 'captions'; el.src = src;
            el.addEventListener('load', () => resolve([...el.track.cues].map(c => [c.startTime, c.endTime, c.text])));
            el.addEventListener('error', () => reject(new Error('track failed to load')));
            document.querySelector('video').append(el);
            el.track.mode = 'hidden';
        })""", f"{v}.vtt")
    finally:
        t.close()
        server.close()
    segments = [s for s in seed["video"]["segments"] if s["text"].strip()]
    assert len(cues) == len(segments)
    assert abs(cues[10][0] - segments[10]["start"]) < 0.002
    assert cues[10][2] == html.escape(" ".join(segments[10]["text"].split()), quote=False)


def test_search_a_name_and_jump_to_its_moment(seed, tab):
    from playwright.sync_api import expect

    sentence = next(s for s in seed["article"]["sentences"] if "al-Tanf" in s["text"])
    page = tab.open(seed["bundle"] / "index.html", wait_video=False)
    page.locator("#q").press_sequentially("al-Tanf", delay=30)
    first = page.locator("#results .result a").first
    expect(first).to_contain_text("al-Tanf")  # waits for the results of the whole word, not of "al"
    assert page.locator("#results .result mark").count() >= 1
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "index-search.png"))
    first.click()
    page.wait_for_url(re.compile(r"/articles/.+/index\.html#t="))
    page.wait_for_load_state("load")
    state = video_state(page)
    assert abs(state["t"] - sentence["start"]) < 0.5, (sentence, state)
    assert page.evaluate(f"document.getElementById('s-{sentence['index']}').classList.contains('flash')")

    # the search box of an article page leads to the same results
    page.fill(".topsearch input", "Idlib")
    page.press(".topsearch input", "Enter")
    page.wait_for_url(re.compile(r"index\.html\?q=Idlib"))
    assert page.locator("#results .result").count() >= 3
    tab.clean()


def test_not_spoken_and_extra_speech_are_marked_and_screenshots(more_articles, browser, tmp_path):
    bundle = export(more_articles["archive"], tmp_path / "review", more_articles["edited"])
    show = run_json("show", more_articles["edited"], archive=more_articles["archive"])
    unspoken = [s for s in show["sentences"] if s["start"] is None]
    assert {s["text"] for s in unspoken} >= {"Residents said the queues lasted for hours."}
    assert show["extra_speech"]
    SHOTS.mkdir(exist_ok=True)
    for width, height, name in ((1366, 900, "article-desktop"), (390, 844, "article-390px")):
        t = Tab(browser, width, height)
        try:
            page = t.open(article_page(bundle, show["id"]))
            assert page.locator(".s.unspoken").count() == len(unspoken)
            assert page.locator(".s.unspoken .badge.ns").first.inner_text().lower() == "not spoken"
            assert page.locator(".extra-speech li").count() == len(show["extra_speech"])
            assert page.locator(".segments .seg.extra").count() >= 1
            extra = show["extra_speech"][0]
            page.click(".extra-speech li >> nth=0")
            assert abs(video_state(page)["t"] - extra["start"]) < 0.5
            target = next(s for s in show["sentences"] if s["start"] is not None and s["paragraph"] == 1)
            page.click(f"#s-{target['index']}")
            page.wait_for_timeout(1200)  # let it play a moment: the subtitle shows on the picture
            page.evaluate("document.querySelector('video').pause()")
            page.mouse.move(width - 2, height - 2)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
            page.evaluate(f"document.getElementById('s-{unspoken[0]['index']}').scrollIntoView({{block: 'center'}})")
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / f"{name}.png"))
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            page.wait_for_timeout(300)
            top = page.evaluate("document.querySelector('video').getBoundingClientRect().top")
            assert 0 <= top < height / 2, f"the player scrolled out of view at {width}px (top={top})"
            page.screenshot(path=str(SHOTS / f"{name}-end.png"))
            t.clean()
        finally:
            t.close()


def test_an_article_with_two_videos_switches_player(more_articles, tab, tmp_path):
    bundle = export(more_articles["archive"], tmp_path / "review", more_articles["two"])
    show = run_json("show", more_articles["two"], archive=more_articles["archive"])
    first, second = (v["id"] for v in show["videos"])
    assert (bundle / "videos" / first / "index.html").exists() and (bundle / "videos" / second / "index.html").exists()
    page = tab.open(article_page(bundle, show["id"]))
    assert page.locator(".tabs [role=tab]").count() == 2
    for video_id in (second, first):
        sentence = [s for s in show["sentences"] if s["video_id"] == video_id][-1]
        page.click(f"#s-{sentence['index']}")
        state = page.evaluate("""(id) => { const v = document.querySelector(`figure[data-v="${id}"] video`);
            return {t: v.currentTime, shown: !v.closest('figure').hidden,
                    others: [...document.querySelectorAll('figure.player-video')].filter(f => !f.hidden).length,
                    tab: document.querySelector('.tabs [aria-selected=true]').dataset.tab,
                    list: !document.querySelector(`.segments[data-v="${id}"]`).hidden}; }""", video_id)
        assert state["shown"] and state["others"] == 1 and state["tab"] == video_id and state["list"], state
        assert abs(state["t"] - sentence["start"]) < 0.5, (sentence, state)
    page.click(".tabs [role=tab] >> nth=1")
    assert page.evaluate(f"document.querySelector('figure[data-v=\"{second}\"]').hidden") is False
    page.evaluate("document.querySelectorAll('video').forEach(v => v.pause())")
    tab.clean()


def test_hostile_article_runs_no_script(more_articles, browser, tmp_path):
    from archiver.store.catalog import Catalog

    archive = tmp_path / "archive"
    shutil.copytree(more_articles["archive"], archive)
    hostile = more_articles["hostile"]
    # metadata from a hostile video host, and a source that is a javascript: URL
    catalog = Catalog(archive / "catalog.sqlite")
    video_id = catalog.video_ids_of(hostile)[0]
    catalog.upsert_video(video_id, title='Clip"><img src=x onerror=window.pwned=10>',
                         webpage_url="javascript:window.pwned=11")
    catalog.upsert_article(hostile, source=" javascript:window.pwned=12")
    catalog.close()
    bundle = export(archive, tmp_path / "review", hostile)
    shown = run_json("show", hostile, archive=archive)
    assert "<script>" in shown["title"] and any("onerror" in s["text"] for s in shown["sentences"])

    for path in (article_page(bundle, hostile), bundle / "videos" / video_id / "index.html", bundle / "index.html"):
        source = path.read_text()
        assert "<script>window" not in source and not re.search(r"<[^>]*\sonerror\s*=", source)
        assert source.count("<script") == 3  # the JSON block, words.js and app.js
        t = Tab(browser)
        try:
            page = t.open(path, wait_video=path.parent != bundle)
            if path.parent == bundle:
                page.locator("#q").press_sequentially("pwned", delay=20)
                page.locator("#results .result").first.wait_for()
            page.wait_for_timeout(300)
            assert page.evaluate("typeof window.pwned") == "undefined"
            assert page.evaluate("""() => [...document.querySelectorAll('*')].flatMap(el => [...el.attributes])
                .filter(a => a.name.startsWith('on')).map(a => a.name)""") == []
            assert page.evaluate("[...document.scripts].map(s => s.type || s.src.split('/').pop())") in (
                ["application/json", "words.js", "app.js"],)
            protocols = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.protocol)")
            assert set(protocols) <= {"http:", "https:", "file:"}, protocols
            if path.parent.parent.name == "articles":  # the hostile text is shown, as text
                page.screenshot(path=str(SHOTS / "hostile-article.png"))
                assert "</script><script>window.pwned=1</script>" in page.locator("h1").inner_text()
                assert "<img src=x onerror=window.pwned=4>" in page.locator(".body-text").inner_text()
            t.clean()
        finally:
            t.close()
