"""Search: phrases across Whisper's segments, the query language, misheard names, results
people can act on, and a search path that loads nothing it does not need.

The end-to-end tests go through the real CLI on the seed fixture: `seed_archive` (the article
page with its video, from conftest) and `bare_archive` (the narration added as a bare video,
so only its transcript is indexed). The unit tests at the end build small indexes directly.
"""
from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, run_json, seed_truth

sys.path.insert(0, str(ROOT))

NAMES_FLOOR = 8  # of the seed's 10 misheard names, found by `search NAME` in the top 3 at the right time


def truth_spans(word: str) -> list[tuple[float, float]]:
    return [(t["start"], t["end"]) for t in seed_truth()["sentences"] if word.lower() in t["text"].lower()]


def at_right_time(hit: dict, word: str, tolerance: float = 1.0) -> bool:
    return hit["start"] is not None and any(a - tolerance <= hit["start"] <= b + tolerance for a, b in truth_spans(word))


def video_words(archive: Path) -> tuple[str, list[dict]]:
    """(video id, segments with words) of the only video of an archive."""
    status = run_json("status", archive=archive)
    (video,) = status["videos"]
    return video["id"], run_json("show", video["id"], archive=archive)["segments"]


# ---------------------------------------------------------------- 1. phrases across segments


def test_a_phrase_cut_by_whisper_is_found_at_its_first_word(bare_archive):
    _, segments = video_words(bare_archive)
    tried = 0
    for left, right in zip(segments, segments[1:]):
        words = [w for w in left["words"][-2:] + right["words"][:2]]
        text = " ".join(w["word"].strip() for w in words)
        if not all(w["word"].strip().isalpha() for w in words):
            continue  # keep to plain words, so the phrase is exactly these four terms
        result = run_json("search", f'"{text}"', archive=bare_archive)
        assert result["hits"], f"phrase across segments not found: {text!r}"
        hit = result["hits"][0]
        assert abs(hit["start"] - words[0]["start"]) < 0.05, (text, hit["start"], words[0]["start"])
        assert hit["source"] == "transcript" and not result["sounds_like"]
        tried += 1
        if tried == 3:
            break
    assert tried == 3


def test_safe_haven_is_found_at_its_sentence(seed_archive):
    archive, _ = seed_archive
    result = run_json("search", '"safe haven"', archive=archive)
    assert result["hits"] and all(at_right_time(h, "safe haven") for h in result["hits"])
    first = result["hits"][0]
    assert "safe haven" in first["snippet"] and [first["snippet"][a:b] for a, b in first["highlights"]] == ["safe haven"]


def test_the_moment_is_the_first_matched_word_not_the_passage(bare_archive):
    _, segments = video_words(bare_archive)
    words = [w for s in segments for w in s["words"]]
    pompeo = next(w for w in words if "Pompeo" in w["word"])
    hit = run_json("search", "Pompeo", archive=bare_archive)["hits"][0]
    assert abs(hit["start"] - pompeo["start"]) < 0.05
    # not the start of the segment (nor of the passage of two segments) that holds it
    (segment,) = [s for s in segments if s["start"] <= pompeo["start"] <= s["end"]]
    assert pompeo["start"] - segment["start"] > 0.5


# ---------------------------------------------------------------- 2. the query language


def hits_of(archive: Path, query: str, *args: str) -> list[dict]:
    return run_json("search", query, "--limit", "50", *args, archive=archive)["hits"]


def test_words_are_all_required_in_any_order(seed_archive):
    archive, _ = seed_archive
    hits = hits_of(archive, "Russia Pompeo")
    assert hits and all("pompeo" in h["text"].lower() and "russia" in h["text"].lower() for h in hits)


def test_or_not_and_minus(seed_archive):
    archive, _ = seed_archive
    either = hits_of(archive, "Pompeo OR Afrin")
    assert {"pompeo", "afrin"} <= {w for h in either for w in ("pompeo", "afrin") if w in h["text"].lower()}
    for query in ("Pompeo NOT Turkish", "Pompeo -Turkish"):
        result = run_json("search", query, archive=archive)
        assert all("turkish" not in h["text"].lower() for h in result["hits"]), query
        assert not result["sounds_like"]
    with_turkish = hits_of(archive, "Pompeo Turkish")
    assert with_turkish and len(hits_of(archive, "Pompeo -Turkish")) < len(hits_of(archive, "Pompeo"))


def test_prefix_and_fuzzy_terms(seed_archive):
    archive, _ = seed_archive
    prefix = hits_of(archive, "assassinat*")
    assert prefix and all("assassinat" in h["text"].lower() for h in prefix)
    fuzzy = hits_of(archive, "Pompoe~2")
    assert fuzzy and "pompeo" in fuzzy[0]["text"].lower()


def test_hyphenated_names_are_phrases(seed_archive):
    archive, _ = seed_archive
    hits = hits_of(archive, "al-Tanf source:article")
    assert hits and all("al-tanf" in h["text"].lower() for h in hits)


def test_filters(seed_archive):
    archive, report = seed_archive
    article_id = report["articles"][0]["id"]
    video_id = report["articles"][0]["videos"][0]["id"]
    assert {h["source"] for h in hits_of(archive, "Pompeo source:article")} == {"article"}
    assert {h["source"] for h in hits_of(archive, "Pompeo source:transcript")} == {"transcript"}
    both = hits_of(archive, f"Pompeo article:{article_id}")
    assert {h["source"] for h in both} == {"article", "transcript"}  # its text and its video's transcript
    assert all(h["video_id"] == video_id for h in hits_of(archive, f"Pompeo video:{video_id}"))
    assert hits_of(archive, "Pompeo article:no-such-article") == []
    assert hits_of(archive, "Pompeo lang:en source:transcript")
    assert hits_of(archive, "Pompeo lang:es") == []


def test_dates_filter_by_the_article_date(seed_archive):
    archive, report = seed_archive
    show = run_json("show", report["articles"][0]["id"], archive=archive)
    assert show["date"] == "2020-03-20"
    for query in ("Pompeo after:2020-03-19", "Pompeo after:2020-02", "Pompeo before:2020-03-21",
                  "Pompeo after:2019 before:2021"):
        assert {h["source"] for h in hits_of(archive, query)} == {"article", "transcript"}, query
    for query in ("Pompeo after:2020-03-20", "Pompeo before:2020-03-20", "Pompeo before:2020", "Pompeo after:2020"):
        assert hits_of(archive, query) == [], query
    bad = run_cli("search", "Pompeo after:2020-13", archive=archive)
    assert bad.returncode == 1 and bad.stderr.startswith("error: bad query") and bad.stderr.count("\n") == 1


def test_no_results_says_so_and_suggests_words(seed_archive):
    archive, _ = seed_archive
    result = run_cli("search", "Pompeyo -Russia", archive=archive)
    assert result.returncode == 0 and result.stdout == ""
    assert "no results for 'Pompeyo -Russia'" in result.stderr and "did you mean: pompeo" in result.stderr
    data = run_json("search", "Pompeyo -Russia", archive=archive)
    assert data["hits"] == [] and data["suggestions"][0] == "pompeo"


def test_help_documents_the_query_language():
    text = run_cli("search", "--help").stdout
    for item in ('"exact phrase"', " OR ", "NOT word, -word", "prefix*", "word~", "article:ID", "video:ID",
                 "source:article", "lang:xx", "after:DATE", "before:DATE", "--sounds-like", "--context", "--play",
                 "--limit", "--json", "did you mean"):
        assert item in text, item


# ---------------------------------------------------------------- 3. misheard names


def test_sound_alike_finds_misheard_names_without_an_article(bare_archive):
    from support.names import names_figure  # the figure benchmarks/search.py prints

    found, lines = names_figure(bare_archive)
    assert found >= NAMES_FLOOR, "\n".join(lines)


def test_sounds_like_option_and_automatic_fallback(bare_archive):
    explicit = run_json("search", "Idlib", "--sounds-like", "--limit", "3", archive=bare_archive)
    assert explicit["sounds_like"] and any(at_right_time(h, "Idlib") for h in explicit["hits"])
    automatic = run_json("search", "Idlib", "--limit", "3", archive=bare_archive)
    assert automatic["sounds_like"] and automatic["hits"][0]["start"] == explicit["hits"][0]["start"]
    marked = [automatic["hits"][0]["snippet"][a:b] for a, b in automatic["hits"][0]["highlights"]]
    assert marked and marked[0].lower() in {"eidlin.", "eidlin", "idler", "idler."}
    # an exact match wins over sound-alike ones
    assert not run_json("search", "Pompeo", archive=bare_archive)["sounds_like"]


# ---------------------------------------------------------------- 4. results people can act on


def test_json_contract_and_limit(seed_archive):
    archive, _ = seed_archive
    data = run_json("search", "Turkish", "--limit", "2", archive=archive)
    assert data["query"] == "Turkish" and len(data["hits"]) == 2 and data["total"] > 2
    for hit in data["hits"]:
        assert set(hit) >= {"source", "text", "start", "end", "video_id", "video_title", "article_id",
                            "article_title", "score", "url", "snippet", "highlights"}
        assert isinstance(hit["start"], float) and isinstance(hit["end"], float)
        assert hit["url"].startswith("file://") and hit["url"].endswith(f"#t={int(hit['start'])}")
        assert all(hit["snippet"][a:b].lower().startswith("turk") for a, b in hit["highlights"])


def test_one_line_per_hit_when_not_a_terminal(seed_archive):
    archive, _ = seed_archive
    result = run_cli("search", "Turkish", "--limit", "3", archive=archive)
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(len(line.split("\t")) == 4 for line in lines)
    clock, title, snippet, url = lines[0].split("\t")
    assert clock.count(":") == 1 and "Turk" in snippet and url.startswith("file://")


def test_snippet_has_context_both_sides(bare_archive):
    hit = run_json("search", "Pompeo", archive=bare_archive)["hits"][0]
    (a, b), = hit["highlights"]
    assert len(hit["snippet"][:a].split()) >= 3 and len(hit["snippet"][b:].split()) >= 3
    assert len(hit["snippet"].split()) < len(hit["text"].split()) + 2


def test_context_prints_the_surrounding_transcript(bare_archive):
    _, segments = video_words(bare_archive)
    result = run_cli("search", "Pompeo", "--limit", "1", "--context", "6", archive=bare_archive)
    lines = result.stdout.splitlines()
    assert lines[1].startswith("--- ") and "around 02:" in lines[1]
    around = lines[2:]
    assert 2 <= len(around) <= 5 and sum(line.startswith(">") for line in around) == 1
    assert any("Pompeo" in line for line in around if line.startswith(">"))


def test_play_prints_the_command_without_a_player(bare_archive):
    hit = run_json("search", "Pompeo", "--limit", "1", archive=bare_archive)["hits"][0]
    result = run_cli("search", "Pompeo", "--limit", "1", "--play", archive=bare_archive,
                     env={"PATH": "/nonexistent"})
    assert result.returncode == 0 and "no player found" in result.stderr
    assert f"run: mpv --start={int(hit['start'])} /" in result.stderr and "media.mp4" in result.stderr


def test_play_starts_mpv_at_the_hit(bare_archive, tmp_path):
    log = tmp_path / "mpv-args.json"
    fake = tmp_path / "bin" / "mpv"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(log)!r}, 'w'))\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    hit = run_json("search", "Pompeo", "--limit", "1", archive=bare_archive)["hits"][0]
    result = run_cli("search", "Pompeo", "--limit", "1", "--play", archive=bare_archive,
                     env={"PATH": str(fake.parent)})
    assert result.returncode == 0 and "playing in mpv" in result.stderr
    for _ in range(50):
        if log.exists() and log.read_text():
            break
        __import__("time").sleep(0.1)
    args = json.loads(log.read_text())
    assert args[0] == f"--start={int(hit['start'])}" and args[1].endswith("media.mp4") and Path(args[1]).exists()


def test_moment_urls():
    from archiver.search import moment_url

    local = Path("/tmp/x/media.mp4")
    assert moment_url("https://www.youtube.com/watch?v=abc&t=5", local, 83.9) == "https://www.youtube.com/watch?v=abc&t=83"
    assert moment_url("https://youtu.be/abc", None, 83) == "https://youtu.be/abc?t=83"
    assert moment_url("https://vimeo.com/123", local, 83) == "https://vimeo.com/123#t=83s"
    assert moment_url("https://www.twitch.tv/videos/9", local, 3723) == "https://www.twitch.tv/videos/9?t=1h02m03s"
    assert moment_url("https://www.dailymotion.com/video/x7", local, 83) == "https://www.dailymotion.com/video/x7?start=83"
    assert moment_url("https://example.org/news/page.html", local, 83) == "file:///tmp/x/media.mp4#t=83"
    assert moment_url(None, local, None) == "file:///tmp/x/media.mp4#t=0"
    assert moment_url("https://cdn.example.org/v.mp4", None, 83) == "https://cdn.example.org/v.mp4#t=83"


# ---------------------------------------------------------------- fast to answer


def test_search_loads_no_heavy_module(bare_archive):
    """The search path imports the index and the catalog, not the speech engine, yt-dlp,
    torch, numpy, the media decoder or the article extractor."""
    code = f"""
import sys
from archiver.cli import main
try:
    main(["--archive", {str(bare_archive)!r}, "search", "Pompeo", "--json"])
except SystemExit as e:
    assert not e.code, e.code
print("\\nMODULES " + " ".join(sorted(sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = set(out.rsplit("MODULES ", 1)[1].split())
    assert "whoosh" in modules and "index.search" in modules
    heavy = {"faster_whisper", "ctranslate2", "whisper", "torch", "yt_dlp", "trafilatura", "numpy", "av",
             "ffmpeg", "lxml", "dateparser", "archiver.pipeline", "archiver.media", "archiver.transcribe"}
    assert not modules & heavy, sorted(modules & heavy)


# ---------------------------------------------------------------- the index, directly


def transcript(video_id: str, segments: list[tuple[float, str]]):
    """A Transcript with one word every 0.5 s from each segment's start."""
    from archiver.models import Segment, Transcript, Word

    out = []
    for start, text in segments:
        words = [Word(start + 0.5 * i, start + 0.5 * i + 0.4, (" " if i else " ") + w, 0.9)
                 for i, w in enumerate(text.split())]
        out.append(Segment(start, words[-1].end, " " + text, words))
    return Transcript(video_id, "test", "test", "en", 1.0, out[-1].end, out)


def test_index_phrases_times_and_folding(tmp_path):
    from index.search import search
    from index.writer import replace, transcript_documents

    t = transcript("v1", [(0.0, "the army moved into the safe"), (5.0, "haven near the river"),
                          (10.0, "Señor Pérez said al-Tanf is quiet"), (20.0, "nothing else happened today")])
    replace(tmp_path, {"v1": transcript_documents(t)})
    hit = search(tmp_path, '"the safe haven"', 5).hits
    assert len(hit) == 1 and hit[0].start == 2.0  # "the" before "safe", the phrase's first word
    assert search(tmp_path, '"safe haven near"', 5).hits[0].start == 2.5
    assert search(tmp_path, "senor perez", 5).hits[0].start == 10.0
    assert search(tmp_path, "PÉREZ", 5).hits[0].start == 10.5
    assert search(tmp_path, "al-Tanf", 5).hits[0].start == 11.5
    assert not search(tmp_path, '"haven safe"', 5).hits or search(tmp_path, '"haven safe"', 5).sounds_like
    # found in two overlapping passages, shown once
    assert len(search(tmp_path, "river", 5).hits) == 1


def test_reindexing_a_video_replaces_its_documents_exactly(tmp_path):
    from index.search import search
    from index.writer import document_count, owner_count, replace, transcript_documents

    first = transcript("v1", [(0.0, "alpha bravo charlie"), (3.0, "delta echo foxtrot"), (6.0, "golf hotel india")])
    other = transcript("v2", [(0.0, "alpha kilo lima"), (3.0, "mike november oscar")])
    replace(tmp_path, {"v1": transcript_documents(first), "v2": transcript_documents(other)})
    assert owner_count(tmp_path, "v1") == 2 and owner_count(tmp_path, "v2") == 1
    assert len(search(tmp_path, "foxtrot", 5).hits) == 1  # this process now holds a searcher
    second = transcript("v1", [(0.0, "alpha papa quebec"), (3.0, "romeo sierra tango"), (6.0, "uniform victor"),
                               (9.0, "whiskey xray")])
    replace(tmp_path, {"v1": transcript_documents(second)})
    assert owner_count(tmp_path, "v1") == 3 and owner_count(tmp_path, "v2") == 1 and document_count(tmp_path) == 4
    assert not search(tmp_path, "foxtrot", 5).hits or search(tmp_path, "foxtrot", 5).sounds_like
    assert len(search(tmp_path, "whiskey", 5).hits) == 1
    assert {h.video_id for h in search(tmp_path, "alpha", 5).hits} == {"v1", "v2"}
    replace(tmp_path, {"v1": []})
    assert owner_count(tmp_path, "v1") == 0 and document_count(tmp_path) == 1


def test_many_small_commits_merge_into_a_consistent_index(tmp_path):
    """Each commit merges the small segments (Whoosh's MERGE_SMALL): postings of merged and
    new documents meet in one writer."""
    from index.search import search
    from index.writer import document_count, owner_count, replace, transcript_documents

    for i in range(12):
        t = transcript(f"v{i}", [(0.0, f"alpha bravo word{i}"), (3.0, "delta echo common"), (6.0, "golf hotel")])
        replace(tmp_path, {f"v{i}": transcript_documents(t)})
        assert search(tmp_path, f"word{i}", 5).total == 1  # a searcher kept between commits
        replace(tmp_path, {f"v{i}": transcript_documents(t)})  # and again: replaced, not added
        assert search(tmp_path, f"word{i}", 5).total == 1 and search(tmp_path, "alpha", 50).total == i + 1
    assert document_count(tmp_path) == 24 and all(owner_count(tmp_path, f"v{i}") == 2 for i in range(12))
    assert search(tmp_path, "alpha", 50).total == 12 and search(tmp_path, "common", 50).total == 24
    assert [h.video_id for h in search(tmp_path, "word7", 5).hits] == ["v7"]
    assert search(tmp_path, '"echo common golf"', 5).total == 12


def test_an_index_of_an_older_version_asks_for_reindex(tmp_path):
    from whoosh import index as whoosh_index
    from whoosh.fields import TEXT, Schema

    whoosh_index.create_in(str(tmp_path), Schema(text=TEXT(stored=True)))
    from index.search import OutdatedIndex, search

    with pytest.raises(OutdatedIndex):
        search(tmp_path, "anything", 5)


def test_an_index_made_by_earlier_word_rules_asks_for_reindex(tmp_path):
    """An index keeps the version of the rules that made its terms (schema.TERMS_VERSION):
    version 1 made a whole Chinese clause one word, so its terms cannot answer today's queries."""
    from whoosh import index as whoosh_index

    from index.schema import TERMS_VERSION, make_schema
    from index.search import OutdatedIndex, search

    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    whoosh_index.create_in(str(tmp_path / "new"), make_schema())
    assert whoosh_index.open_dir(str(tmp_path / "new")).schema["text"].terms_version == TERMS_VERSION
    schema = make_schema()
    del schema["text"].terms_version  # what an index of version 1 holds
    whoosh_index.create_in(str(tmp_path / "old"), schema)
    with pytest.raises(OutdatedIndex):
        search(tmp_path / "old", "anything", 5)


def test_add_rebuilds_an_index_made_by_earlier_word_rules(seed_archive, tmp_path):
    """Upgrading asks nothing of the user: the next `add` (or `retry`) rebuilds the index from
    the JSON files before adding to it, and the seed's passages are found again."""
    import shutil

    from whoosh import index as whoosh_index

    from archiver import config
    from archiver.pipeline import Archive, add
    from index.schema import make_schema
    from index.search import OutdatedIndex, search

    archive = tmp_path / "archive"
    shutil.copytree(seed_archive[0], archive)
    shutil.rmtree(archive / "index")
    schema = make_schema()
    del schema["text"].terms_version
    (archive / "index").mkdir()
    whoosh_index.create_in(str(archive / "index"), schema)  # empty, in the layout before CURRENT
    with pytest.raises(OutdatedIndex):
        search(archive / "index", "Idlib", 5)
    add(Archive.open(archive, config.load()), [])
    assert search(archive / "index", "Idlib", 5).hits and search(archive / "index", '"safe haven"', 5).hits


def test_a_word_inside_a_chinese_or_japanese_sentence_is_found_at_its_time(tmp_path):
    from index.search import search
    from index.writer import replace, transcript_documents

    t = transcript("v1", [(0.0, "今天 我们 在 北京开会"), (10.0, "東京タワーへ 行きます"), (20.0, "nothing here")])
    replace(tmp_path, {"v1": transcript_documents(t)})
    (hit,) = search(tmp_path, "北京", 5).hits
    assert hit.start == 1.5 and "\x02北京\x03开会" in hit.snippet  # the fourth word, and only 北京 marked
    assert search(tmp_path, "タワー", 5).hits[0].start == 10.0
    assert not search(tmp_path, "京北", 5).hits or search(tmp_path, "京北", 5).sounds_like


def test_decomposed_accents_are_found_and_marked_whole(tmp_path):
    """Text in NFD (an accent as its own character, as macOS writes file names) has the same
    words as the composed text, and the mark covers the accent too."""
    import unicodedata

    from index.search import search
    from index.writer import replace, transcript_documents

    t = transcript("v1", [(0.0, unicodedata.normalize("NFD", "the cafés of Pérez are open"))])
    replace(tmp_path, {"v1": transcript_documents(t)})
    (hit,) = search(tmp_path, "cafés", 5).hits
    assert hit.start == 0.5 and unicodedata.normalize("NFC", hit.snippet).count("\x02cafés\x03") == 1
    assert search(tmp_path, '"of perez"', 5).hits[0].start == 1.0
