"""The discovery stage on real saved news pages, and its rules: one video once, no
placeholders, no local file named by a page, `add --dry-run`, `--base-url`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from archiver.discover import base_for, discover_html, discover_links
from archiver.discover.urls import Base
from archiver.models import Article
from conftest import SEED, LoopbackServer, news_page, run_cli, run_json, seed_paragraphs
from support import real_pages

PAGES = {p["name"]: p for p in real_pages.pages()}

# one page per way a real page shows its videos
KINDS = {
    "express-hongkong": "Brightcove <video data-account data-player data-video-id> + JSON-LD",
    "newsweek-cannabis": "JSON-LD contentUrl in an array + YouTube iframe",
    "cnn-markets": "JSON-LD VideoObject in the lead media, a rail of other videos beside it",
    "albawaba-settlements": "Dailymotion iframe",
    "afpbb-ja": "Brightcove iframe (Japanese page)",
    "catchitkansas-swim": "JW Player set up inline with a playlist of mp4 files (local TV)",
    "ndr-podcast": "microdata AudioObject contentUrl (German)",
    "usatoday-goose": "microdata VideoObject + legacy Brightcove <object>",
    "polygraph-tanf": "YouTube embeds written by a script, a youtu.be link in the text",
    "oneesports-t1": "lazy iframes (src=about:blank, data-litespeed-src) of Twitch clips",
    "cbslocal-goose": "<a href> to an .MP3 in the body",
    "cbsnews-impeachment": "the site's own embed player in lazy iframes (data-src)",
    "bbc-europe": "a player's JSON config in a data attribute",
    "telegraph-podcast": "an acast episode iframe",
    "franceculture-idees": "a player's data-asset-source .mp3 (French)",
    "foxnews-dwts": "a data-video-id player whose fallback link is the video page",
    "reuters-parasite": "two mp4 sources with their video/mp4 type in the page's state JSON",
    "thehill-meth": "a JW Player media id in the inline settings of a page that loads JW Player",
    "nytimes-opinion": "no video; navigation full of video sections",
    "wsj-stadia": "no video; a video rail of other stories",
    "ctvnews-hibernation": "no video in the article; teasers link /video?clipId=",
    "rt-bolivia": "no video; podcast widgets in a listing",
    "lemonde-economie": "no video (French)",
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_real_page_videos_are_the_labelled_ones(name):
    page = PAGES[name]
    found = real_pages.discovered(page, real_pages.read(name))
    score = real_pages.score(page, found)
    assert not score.false, f"{KINDS[name]}: taken as videos: {score.false}"
    assert not score.missed, f"{KINDS[name]}: missed: {score.missed}"


def test_real_page_titles_and_found_by():
    page = PAGES["newsweek-cannabis"]
    html = real_pages.read(page["name"])
    links = discover_html(html, base_for(html, url=page["url"]))
    assert [(link.found_by, link.title) for link in links] == [("json-ld", "Should Weed Be Legalized?"), ("embed", None)]


# ---------------------------------------------------------------- one video once

PAGE_URL = "https://news.example/2020/03/story.html"


def found(body: str, head: str = "", base: Base | None = None) -> list[tuple[str, str]]:
    html = f"<html><head>{head}</head><body><article><h1>T</h1><p>{'Words of the article. ' * 8}</p>{body}</article></body></html>"
    return [(link.url, link.found_by) for link in discover_html(html, base or Base(url=PAGE_URL))]


def test_the_same_youtube_video_four_ways_is_one():
    links = found('<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ?rel=0"></iframe>'
                  '<p><a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ&utm_source=x">watch</a> '
                  '<a href="https://youtu.be/dQw4w9WgXcQ?si=abc">short</a></p>',
                  '<meta property="og:video" content="https://www.youtube.com/v/dQw4w9WgXcQ">')
    assert links == [("https://www.youtube.com/embed/dQw4w9WgXcQ?rel=0", "embed")]


def test_vimeo_player_and_page_and_brightcove_player_and_tags_are_one_each():
    links = found('<iframe src="https://player.vimeo.com/video/76979871?h=8272103f6e"></iframe>'
                  '<p><a href="https://vimeo.com/76979871">on Vimeo</a></p>'
                  '<video-js data-account="1752604059001" data-player="default" data-video-id="5802147775001"></video-js>'
                  '<iframe src="https://players.brightcove.net/1752604059001/default_default/index.html?videoId=5802147775001"></iframe>')
    assert [url for url, _ in links] == ["https://player.vimeo.com/video/76979871?h=8272103f6e",
                                         "https://players.brightcove.net/1752604059001/default_default/index.html?videoId=5802147775001"]


def test_full_content_url_wins_over_og_video_preview_and_meta_is_a_fallback():
    ld = ('<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"NewsArticle",'
          '"video":[{"@type":"VideoObject","name":"Full report","contentUrl":"https://cdn.example/full.mp4"}]}]}</script>')
    og = '<meta property="og:video" content="https://cdn.example/preview-clip.mp4">'
    assert found("", ld + og) == [("https://cdn.example/full.mp4", "json-ld")]
    assert found("", og) == [("https://cdn.example/preview-clip.mp4", "meta")]
    assert found("", '<meta name="twitter:player" content="https://news.example/player/embed/991">') == \
        [("https://news.example/player/embed/991", "meta")]


def test_json_ld_in_cdata_and_microdata():
    cdata = ('<script type="application/ld+json">/* <![CDATA[ */ {"@type":"VideoObject","name":"C",'
             '"embedUrl":"https://www.dailymotion.com/embed/video/x7o6g1x"} /* ]]> */</script>')
    assert found("", cdata) == [("https://www.dailymotion.com/embed/video/x7o6g1x", "json-ld")]
    micro = ('<div itemscope itemtype="http://schema.org/VideoObject"><meta itemprop="name" content="M">'
             '<link itemprop="contentUrl" href="/media/m.mp4"></div>')
    assert found(micro) == [("https://news.example/media/m.mp4", "json-ld")]


def test_typed_sources_and_jw_media_ids_in_scripts_and_only_those():
    state = ('<script>window.state = {"story": {"video_sources": [{"url": "https:\\/\\/vm.news.example\\/a1-1404k.mp4",'
             '"content_type": "video/mp4"}, {"url": "https://vm.news.example/a1.m3u8", "content_type":'
             ' "application/vnd.apple.mpegurl"}], "image": {"url": "https://img.news.example/a1.mp4.jpg",'
             ' "type": "image/jpeg"}, "ad": {"url": "https://ads.example/spot.mp4"}}}</script>')
    assert found("", state) == [("https://vm.news.example/a1-1404k.mp4", "embed")]
    settings = '<script>jQuery.extend(Drupal.settings, {"th_jwplayer": {"video_id": "7t1QFy6c", "nid": "471033"}});</script>'
    library = '<script src="https://cdn.jwplayer.com/libraries/RSvzxzFp.js"></script>'
    assert found("", library + settings) == [("https://cdn.jwplayer.com/v2/media/7t1QFy6c", "embed")]
    assert found("", settings) == []  # an id-shaped value means a JW media id only where JW Player plays


def test_placeholders_are_not_videos():
    assert found('<video src=""></video><video src="0"></video><video src="null"></video>'
                 '<iframe src="about:blank"></iframe><iframe src="https://www.youtube.com/embed/"></iframe>'
                 '<iframe src="https://players.brightcove.net/1/default_default/index.html"></iframe>'
                 '<video><source src="#"></video>') == []


def test_links_count_only_in_the_article_and_only_when_they_are_one_video():
    nav = ('<nav><a href="https://www.youtube.com/watch?v=aaaaaaaaaaa">nav video</a></nav>'
           '<aside class="related-stories"><a href="https://vimeo.com/1234567">related</a></aside>')
    html = (f"<html><body><header><a href='/video'>Video</a><a href='https://www.cnn.com/politics'>Politics</a></header>"
            f"{nav}<article><p>{'Words of the article. ' * 8}</p><p><a href='https://www.youtube.com/channel/UC1'>"
            f"channel</a> <a href='https://www.cnn.com/videos'>videos</a> <a href='https://youtu.be/bbbbbbbbbbb'>"
            f"this one</a></p></article><footer><a href='/clip.mp4'>x</a></footer></body></html>")
    assert [link.url for link in discover_html(html, Base(url=PAGE_URL))] == ["https://youtu.be/bbbbbbbbbbb"]


# ---------------------------------------------------------------- schemes and local files


def test_pages_name_no_blob_data_javascript_or_file(tmp_path):
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"x")
    body = (f'<video src="blob:https://news.example/1"></video><video src="data:video/mp4;base64,AAAA"></video>'
            f'<p><a href="javascript:play()">x</a> <a href="file://{secret}">f</a> <a href="{secret}">p</a></p>'
            f'<video src="file://{secret}"></video><iframe src="vbscript:x"></iframe>')
    # an absolute path on a web page is a path on its site, never a local file
    assert found(body) == [(f"https://news.example{secret}", "link")]
    assert found(body, base=Base(folder=tmp_path)) == []  # a saved page names no local file either


def test_saved_page_relative_links(tmp_path):
    (tmp_path / "page_files").mkdir()
    (tmp_path / "page_files" / "clip.mp4").write_bytes(b"x")
    (tmp_path.parent / "outside.mp4").write_bytes(b"x")
    body = '<video src="page_files/clip.mp4"></video><video src="../outside.mp4"></video><video src="/etc/x.mp4"></video>'
    assert found(body, base=Base(folder=tmp_path)) == [(str(tmp_path / "page_files" / "clip.mp4"), "video")]
    html = '<html><head><link rel="canonical" href="https://news.example/a/b.html"></head><body></body></html>'
    assert base_for(html, folder=tmp_path) == Base(url="https://news.example/a/b.html")
    assert base_for(html, folder=tmp_path, base_url="https://other.example/x/") == Base(url="https://other.example/x/")
    assert discover_links([("https://youtu.be/ccccccccccc", "v"), ("/section/videos", "s"), ("a.mp4", "a")],
                          Base(url=PAGE_URL)) == \
        [discover_links([("https://youtu.be/ccccccccccc", "")], Base())[0],
         *discover_links([("a.mp4", "")], Base(url=PAGE_URL))]


def test_old_article_json_links_still_read():
    article = Article.from_dict({"id": "a", "source": "s", "title": "t", "text": "", "paragraphs": [], "sentences": [],
                                 "links": [{"url": "https://x.example/v.mp4", "kind": "a"},
                                           {"url": "https://www.youtube.com/embed/dQw4w9WgXcQ", "kind": "iframe"}]})
    assert [(link.found_by, link.title) for link in article.links] == [("link", None), ("embed", None)]


# ---------------------------------------------------------------- end to end through the CLI


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    root = tmp_path_factory.mktemp("discover-site")
    server = LoopbackServer(root)
    yield server
    server.close()


def test_a_fetched_page_never_makes_a_local_file_read(web, tmp_path):
    """On main before this change, `<video src="file:///...">` copied that file into the
    archive, transcribed and exported it."""
    secret = tmp_path / "private" / "interview.mp4"
    secret.parent.mkdir()
    secret.write_bytes((SEED / "narration.mp4").read_bytes())
    (Path(web.root) / "local-file.html").write_text(news_page(
        "A page naming a local file", seed_paragraphs(),
        f'<video src="file://{secret}"></video><p><a href="file://{secret}">local</a> <a href="{secret}">path</a></p>'),
        encoding="utf-8")
    archive = tmp_path / "archive"
    report = run_json("add", web.url("local-file.html"), archive=archive)
    (article,) = report["articles"]
    # file: URLs are dropped; the bare path is a path on the page's own site, asked of the site
    assert [v["url"] for v in article["videos"]] == [web.url(str(secret))]
    assert "404" in article["videos"][0]["error"] and web.hits(str(secret)) >= 1
    media = archive / "media"
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]
    assert run_json("status", archive=archive)["videos"][0]["stage"] == "download"


def test_dry_run_requests_no_video_and_writes_nothing(web, tmp_path):
    (Path(web.root) / "clip.mp4").write_bytes((SEED / "narration.mp4").read_bytes())
    embed = web.url("embed/video/4242")
    (Path(web.root) / "dry.html").write_text(news_page(
        "A page with videos", seed_paragraphs(),
        f'<video src="clip.mp4" title="The clip"></video><iframe src="{embed}"></iframe>'
        '<video-js data-account="1752604059001" data-player="default" data-video-id="5802147775001"></video-js>'
        '<p><a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ">watch</a></p>'), encoding="utf-8")
    archive = tmp_path / "archive"
    report = run_json("add", "--dry-run", web.url("dry.html"), "--video", "https://vimeo.com/76979871", archive=archive)
    assert not archive.exists()
    assert web.hits("/clip.mp4") == 0 and web.hits("/embed/") == 0 and web.hits("/dry.html") == 1
    (article,) = report["articles"]
    assert article["status"] == "planned" and report["errors"] == []
    assert article["videos"] == [
        {"url": web.url("clip.mp4"), "found_by": "video", "title": "The clip"},
        {"url": "https://players.brightcove.net/1752604059001/default_default/index.html?videoId=5802147775001",
         "found_by": "embed", "title": None},
        {"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "found_by": "link", "title": None},
        {"url": "https://vimeo.com/76979871", "found_by": "manual", "title": None}]
    text = run_cli("add", "--dry-run", web.url("dry.html"), archive=archive)
    assert text.returncode == 0 and "video link     https://www.youtube.com/watch?v=dQw4w9WgXcQ" in text.stdout
    assert not archive.exists() and web.hits("/clip.mp4") == 0


def test_base_url_resolves_a_saved_page(tmp_path):
    page = tmp_path / "saved.html"
    page.write_text(news_page("Saved page", seed_paragraphs(), '<video src="/media/clip.mp4"></video>')
                    .replace("<head>", '<head><link rel="canonical" href="https://news.example/2020/story.html">'),
                    encoding="utf-8")
    report = run_json("add", "--dry-run", str(page), archive=tmp_path / "a")
    assert [v["url"] for v in report["articles"][0]["videos"]] == ["https://news.example/media/clip.mp4"]
    report = run_json("add", "--dry-run", "--base-url", "https://mirror.example/x/", str(page), archive=tmp_path / "a")
    assert [v["url"] for v in report["articles"][0]["videos"]] == ["https://mirror.example/media/clip.mp4"]
    bad = run_cli("add", "--dry-run", "--base-url", "file:///etc/", str(page), archive=tmp_path / "a")
    assert bad.returncode == 1 and "--base-url" in bad.stderr and not (tmp_path / "a").exists()


def test_the_embed_finders_are_found_once_and_kept_per_yt_dlp_version(tmp_path, monkeypatch):
    """Which of yt-dlp's extractors can find an embed takes importing all of them: the names are
    kept in the user cache, and a later process imports only those."""
    from archiver.download import _embed_extractors, _finds_embeds, _specific_extractors

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    made = [ie.ie_key() for ie in _embed_extractors.__wrapped__()]
    (kept,) = (tmp_path / "transcript-archiver" / "yt-dlp").glob("embed-extractors-*.json")
    assert sorted(made) == json.loads(kept.read_text())
    assert {"Youtube", "Vimeo", "BrightcoveNew", "JWPlatform", "Dailymotion"} <= set(made)
    assert len(made) < len(_specific_extractors()) / 5  # the point: most extractors find no embed
    assert all(_finds_embeds(ie) for ie in _embed_extractors.__wrapped__())
    kept.write_text(json.dumps(["Vimeo"]))  # a later process reads the names it kept
    assert [ie.ie_key() for ie in _embed_extractors.__wrapped__()] == ["Vimeo"]
