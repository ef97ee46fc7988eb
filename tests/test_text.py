"""Text as people write it, on real text (tests/fixtures/real/text/SOURCES): sentence boundaries
per language, exact offsets, the main text of real pages among their chrome, and the language."""
from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from archiver.article import parse_document
from archiver.text import article_language, declared_language, detect_language, sentence_spans

REAL = Path(__file__).parent / "fixtures" / "real" / "text"
PAGES = json.loads((REAL / "pages" / "pages.json").read_text(encoding="utf-8"))
GOLDEN = json.loads((REAL / "golden_rules.json").read_text(encoding="utf-8"))


def split(text: str, language: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, language)]


def boundary_f1(cases: list[tuple[str, list[str]]], language: str) -> float:
    tp = fp = fn = 0
    for paragraph, sentences in cases:
        gold, got, cursor = set(), set(), 0
        for sentence in sentences[:-1]:
            cursor = paragraph.index(sentence.strip(), cursor) + len(sentence.strip())
            gold.add(cursor)
        got = {end for _, end in sentence_spans(paragraph, language)[:-1]}
        tp, fp, fn = tp + len(gold & got), fp + len(got - gold), fn + len(gold - got)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


# ---------------------------------------------------------------- sentences


def test_abbreviations_initials_and_times_do_not_end_a_sentence():
    assert split("The U.S. President met Mr. Smith at 10 a.m. Friday. He left at 2 p.m. on Monday.", "en") == [
        "The U.S. President met Mr. Smith at 10 a.m. Friday.", "He left at 2 p.m. on Monday."]
    assert split("I live in the U.S. How about you? My name is Jonas E. Smith.", "en") == [
        "I live in the U.S.", "How about you?", "My name is Jonas E. Smith."]
    assert split("She has $100.00. It is 3.5 km away... Then “Stop.” he said!", "en") == [
        "She has $100.00.", "It is 3.5 km away...", "Then “Stop.” he said!"]
    assert split("Wir trafen Dr. med. Meyer z. B. am 12. Juni. Er zahlte 5.300,25 Euro.", "de") == [
        "Wir trafen Dr. med. Meyer z. B. am 12. Juni.", "Er zahlte 5.300,25 Euro."]
    assert split('Ist ja wohl ein Witz. "Bitte Termin im Internet machen." Danke.', "de") == [
        "Ist ja wohl ein Witz.", '"Bitte Termin im Internet machen."', "Danke."]
    assert split("O Sr. Silva chegou às 10 h. A Dra. Maria também.", "pt") == [
        "O Sr. Silva chegou às 10 h.", "A Dra. Maria também."]
    assert split("Файл 100 кб. завантажувався 5 хв. і 6 сек. Кінець.", "uk") == [
        "Файл 100 кб. завантажувався 5 хв. і 6 сек.", "Кінець."]


def test_chinese_and_japanese_sentences_end_outside_quotes():
    assert split("これはペンです。それは何ですか？「そうです。」と彼は言った！終わり", "ja") == [
        "これはペンです。", "それは何ですか？", "「そうです。」と彼は言った！", "終わり"]
    assert split("「行こう。」「うん。」", "ja") == ["「行こう。」", "「うん。」"]
    assert split("引き下げ幅は３．２９％以上を目指す。２％台後半だ。", "ja") == ["引き下げ幅は３．２９％以上を目指す。", "２％台後半だ。"]
    assert split("我们明天一起去看《摔跤吧！爸爸》好吗？好！", "zh") == ["我们明天一起去看《摔跤吧！爸爸》好吗？", "好！"]
    assert split("“是的。”他说！结束。", "zh") == ["“是的。”他说！", "结束。"]


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "it", "nl", "ru", "da", "ja", "zh"])
def test_golden_rules(language):
    """pysbd's golden rules (from the Pragmatic Segmenter) in each language we align."""
    cases = [(c["text"], c["sentences"]) for c in GOLDEN["pysbd"][language]]
    assert boundary_f1(cases, language) >= 0.97


@pytest.mark.parametrize("language", sorted(p.stem for p in (REAL / "sentences").glob("*.json")))
def test_real_sentences_of_treebanks(language):
    data = json.loads((REAL / "sentences" / f"{language}.json").read_text(encoding="utf-8"))
    cases = [(data["joiner"].join(p), p) for p in data["paragraphs"]]
    assert boundary_f1(cases, language) >= 0.95


def test_threads_split_alike():
    """Batches parse two articles at once; pysbd's Segmenter is not to be shared between threads."""
    paragraphs = [c["text"] for c in GOLDEN["pysbd"]["en"][:40]]
    alone = [sentence_spans(p, "en") for p in paragraphs]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda p: sentence_spans(p, "en"), paragraphs * 3)) == alone * 3


def test_offsets_are_exact_with_repeats_unicode_and_leading_space():
    for text, language in [("Hello. Hello. Hello world. Hello.", "en"),
                           ("   Leading spaces here. Then more.  ", "en"),
                           ("Café naïve — “ünïcödé” ok. 🎥 Emoji here. Second 🎥. Second 🎥.", "fr"),
                           ("Привет. Привет. Это тест.", "ru"),
                           ("はい。はい。 いいえ。", "ja")]:
        spans = sentence_spans(text, language)
        pieces = [text[s:e] for s, e in spans]
        assert all(p == p.strip() and p for p in pieces)
        assert [s for s, _ in spans] == sorted(s for s, _ in spans)
        assert "".join(pieces) == "".join(text.split()) if language == "ja" else " ".join(pieces) == " ".join(text.split())
    assert split("Hello. Hello. Hello world. Hello.", "en") == ["Hello.", "Hello.", "Hello world.", "Hello."]


# ---------------------------------------------------------------- main text of real pages


def tokens(text: str, language: str) -> Counter:
    text = text.lower()
    return Counter(re.sub(r"\W", "", text) if language in ("ja", "zh") else re.findall(r"\w+", text))


def token_f1(gold: str, got: str, language: str) -> float:
    g, p = tokens(gold, language), tokens(got, language)
    tp = sum((g & p).values())
    return 2 * tp / (sum(g.values()) + sum(p.values())) if g or p else 1.0


def page(name: str, kind: str) -> str:
    return gzip.decompress((REAL / "pages" / f"{name}.{kind}.gz").read_bytes()).decode("utf-8", "replace")


@cache  # several tests read the same pages; each parse costs trafilatura a few hundred ms
def read(name: str, kind: str):
    return parse_document(page(name, kind), kind, "t", "t")


# one page per language and kind of site, each with the gold text of its test suite
SAMPLE = ["zyte-3c6d3381ef", "zyte-57b4dafd18", "zyte-85439e26c4", "zyte-c7e39ac49f", "zyte-624fcd903d",
          "zyte-ba4dfe2d3e", "zyte-686bb170ef", "readability-lemonde-1", "readability-la-nacion",
          "readability-folha", "readability-yahoo-4", "readability-gmw", "readability-heise", "readability-bbc-1"]


def test_html_main_text_of_real_pages():
    scores = {name: token_f1(PAGES[name]["gold"], read(name, "html").text, PAGES[name]["language"]) for name in SAMPLE}
    assert sum(scores.values()) / len(scores) >= 0.93, scores
    assert min(scores.values()) >= 0.75, scores


def test_chrome_left_by_the_extractor_is_dropped():
    express = read("zyte-ba4dfe2d3e", "html").text  # express.co.uk: "READ MORE", "DON'T MISS" boxes
    assert "DON'T MISS" not in express and "READ MORE" not in express
    assert "plague" in express
    space = read("zyte-686bb170ef", "html").text  # space.com: "Related:" pointers, photo galleries
    assert "Related:" not in space and "Photos: Europa" not in space
    assert "Europa" in space


@pytest.mark.parametrize("kind", ["md", "txt"])
def test_saved_and_copied_pages_lose_their_chrome(kind):
    """The same real pages saved as Markdown and copied as plain text, menus and footers included."""
    names = SAMPLE
    scores = {name: token_f1(PAGES[name]["gold"], read(name, kind).text, PAGES[name]["language"]) for name in names}
    before = {name: token_f1(PAGES[name]["gold"], page(name, kind), PAGES[name]["language"]) for name in names}
    assert sum(scores.values()) / len(scores) >= (0.80 if kind == "md" else 0.75), scores
    assert sum(scores.values()) > sum(before.values()) + 0.1 * len(names), (scores, before)


def test_short_text_below_jusText_lengths_keeps_its_sentences():
    article = parse_document("Short note.\n\nThe meeting is at noon today. Bring the report with you.\n",
                             "txt", "t", "t.txt")
    assert [s.text for s in article.sentences] == ["The meeting is at noon today.", "Bring the report with you."]


# ---------------------------------------------------------------- language


def test_language_of_every_real_page_from_its_text():
    wrong = {name: (detect_language(p["gold"])[0], p["language"]) for name, p in PAGES.items()
             if detect_language(p["gold"])[0] != p["language"]}
    assert not wrong
    assert {p["language"] for p in PAGES.values()} >= {"en", "fr", "de", "es", "pt", "ja", "zh", "ru"}


def test_article_language_filled_and_declared_language_checked():
    for name in ["readability-lemonde-1", "readability-yahoo-4", "zyte-57b4dafd18", "readability-folha", "readability-gmw"]:
        assert read(name, "html").language == PAGES[name]["language"]
    lemonde = page("readability-lemonde-1", "html")
    assert declared_language(lemonde) == "fr"
    # a template that says lang="en" on a French page: the text wins; a short text keeps the page's word
    mislabelled = re.sub(r'(lang|content)="fr(?:[-_]FR)?"', r'\1="en"', lemonde)
    assert declared_language(mislabelled) == "en"
    assert parse_document(mislabelled, "html", "t", "t").language == "fr"
    assert article_language("Merci.", "en") == "en"
    assert article_language("Det här är en artikel om val i Norge och Sverige, skriven på svenska för läsarna.", "no") == "no"
    assert declared_language('<html><head><script type="application/ld+json">{"@graph": [{"@type": "NewsArticle", '
                             '"inLanguage": "es-MX"}]}</script></head><body></body></html>') == "es"
    assert declared_language('<html><head><meta property="og:locale" content="pt_BR"></head></html>') == "pt"


def test_search_does_not_load_the_text_libraries():
    probe = ("import sys, archiver.cli, archiver.search; "
             "print([m for m in ('py3langid', 'pysbd', 'sentencex', 'justext') if m in sys.modules])")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_the_language_model_from_the_cache_identifies_as_py3langid_does(tmp_path, monkeypatch):
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    from archiver.text import _unpacked_identifier

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ours = _unpacked_identifier(MODEL_DIR / MODEL_FILE, LanguageIdentifier)
    (copy,) = (tmp_path / "transcript-archiver" / "py3langid").glob("model-*.npz")
    made = copy.stat().st_mtime_ns
    assert _unpacked_identifier(MODEL_DIR / MODEL_FILE, LanguageIdentifier) and copy.stat().st_mtime_ns == made
    theirs = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    texts = ["Officials said the bridge reopened on Thursday after three weeks of repairs.",
             "Die Brücke wurde am Donnerstag nach drei Wochen Reparatur wieder geöffnet.",
             "Le pont a rouvert jeudi après trois semaines de travaux.", "El puente reabrió el jueves.",
             "橋は3週間の修理を経て木曜日に再開した。", "Мост открылся в четверг после ремонта.", "12 34 !!"]
    assert [ours.classify(t) for t in texts] == [theirs.classify(t) for t in texts]
