"""One rule of what a word is (archiver/words.py), and its twin in the export bundle
(archiver/export_static/words.js) giving the same words in Debian's Chromium: on hostile
text, and on every character Python's Unicode database knows, inside a word and alone."""
from __future__ import annotations

import json
import sys
import unicodedata

import pytest

from archiver.words import spans, words
from conftest import ROOT
from test_export import browser  # noqa: F401 (the export tests' Chromium, started the same way)

WORDS_JS = ROOT / "archiver" / "export_static" / "words.js"

HOSTILE = [
    "Señor Pérez said al-Tanf is a safe haven", "SEÑOR PÉREZ",
    "Alomar's don't l’homme rock'n'roll", "Straße STRASSE ẞ", "Øresund Łódź Đorđe Æsir Œuvre Þór ıi İstanbul",
    "F-35 M4 COVID-19 2,300 3.5 1997 ½ ² ⅻ ٢٠٢٠ ๑๒ 1st 20th", "snake_case __init__ a_-_b",
    "北京是中国的首都。東京タワーへ行きます、コーヒー。々〆〇", "한국어 문장입니다", "ﾃｽﾄ ｶﾞ ＡＢＣ１２３",
    "Οδυσσεύς ΟΔΟΣ σοφίας ς", "Москва́ ёлка Ё", "עִבְרִית العَرَبِيَّة हिन्दी தமிழ் ไทยภาษา",
    "ㅎㅏㄴㄱㅜㄱ ทำงาน கொண்டு বোন ଖୋ",  # compatibility jamo, Thai, Tamil, Bengali and Oriya two-part vowels
    "emoji 😀👍🏽 👨‍👩‍👧 🇫🇷 #️⃣ x", "zero\u200bwidth soft\u00adhyphen non\u00a0breaking", "ﬁnance ﬀ ǅ Ǆ ǆ",
    "Ꭰ ꭰ ᏸ Ᏸ ᲀ", "\u0301leading mark", "tab\tnew\nline\r\u2028sep", "", "   ", "--", "'’`´",
]
HOSTILE += [unicodedata.normalize(form, t) for form in ("NFD", "NFKD") for t in HOSTILE]  # decomposed, as on macOS


def test_the_rule_on_the_words_that_matter():
    assert words("Señor Pérez said al-Tanf") == ["senor", "perez", "said", "al", "tanf"]
    assert words("SEN\u0303OR Pe\u0301rez") == words("Señor Pérez")  # decomposed accents too
    assert words("Alomar’s don't") == ["alomar", "s", "don", "t"]
    assert words("Straße Øresund Łódź") == ["strasse", "oresund", "lodz"]
    assert words("COVID-19 M4 2,300 snake_case") == ["covid", "19", "m4", "2", "300", "snake_case"]
    assert words("北京是首都。東京タワー") == ["北", "京", "是", "首", "都", "東", "京", "タ", "ワ", "ー"]
    assert words("ΟΔΟΣ οδος") == ["οδοσ", "οδοσ"] and words("한국어 문장") == ["한국어", "문장"]
    assert words("が ｶﾞ") == ["が", "ガ"] and words(unicodedata.normalize("NFD", "한국어")) == ["한국어"]
    assert words("😀👍🏽 🇫🇷") == [] and words("ﬁnance ＡＢＣ１２３") == ["finance", "abc123"]
    assert [("Pe\u0301rez", "perez")] == [("Pe\u0301rez"[a:b], w) for a, b, w in spans("Pe\u0301rez")]


def packed(chars: list[str]) -> list[str]:
    """Each character inside a word and alone, a hundred characters to a text."""
    return [" ".join(f"a{c}b {c}" for c in chars[i:i + 100]) for i in range(0, len(chars), 100)]


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    """"words": the hostile texts, then every character this Python's Unicode database
    assigns (no surrogates, no private use); "spans": the hostile texts, then every
    character that folding changes or attaches to the one before it (the rest is plain)."""
    chars = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")]
    changed = [c for c in chars if unicodedata.normalize("NFKD", c) != c or c.casefold() != c
               or unicodedata.category(c)[0] == "M"]
    return {"words": HOSTILE + packed(chars), "spans": HOSTILE + packed(changed)}


@pytest.fixture(scope="module")
def python_spans(texts) -> list[list[tuple[str, str]]]:
    return [[(text[a:b], w) for a, b, w in spans(text)] for text in texts["spans"]]


def test_spans_are_the_words(texts, python_spans):
    wrong = [text for text, found in zip(texts["spans"], python_spans) if [w for _, w in found] != words(text)]
    assert not wrong, wrong[:5]


def test_the_bundles_javascript_finds_the_same_words(browser, texts, python_spans):  # noqa: F811
    page = browser.new_page()
    try:
        page.add_script_tag(path=str(WORDS_JS))
        js_words, js_spans = page.evaluate("""([words, spans]) => [
            words.map((t) => archiverWords.words(t).join(" ")),
            JSON.stringify(spans.map((t) => archiverWords.spans(t).map(([a, b, w]) => [t.slice(a, b), w])))]""",
            [texts["words"], texts["spans"]])
    finally:
        page.close()
    wrong = [f"words of {text!r}: Python {words(text)}, JavaScript {got.split()}"
             for text, got in zip(texts["words"], js_words) if got.split() != words(text)]
    wrong += [f"spans of {text!r}: Python {found}, JavaScript {got}"
              for text, found, got in zip(texts["spans"], python_spans, json.loads(js_spans))
              if [tuple(s) for s in got] != found]
    assert not wrong, f"{len(wrong)} texts differ:\n" + "\n".join(w[:2000] for w in wrong[:10])
