"""Languages other than English: the multilingual base model detects Spanish and German, and
the readings' texts align line by line."""
from __future__ import annotations

from pathlib import Path

import pytest

from archiver.align import align, every_sentence
from archiver.models import Article, Sentence

from conftest import FIXTURES, run_json
from support.multilingual import MULTILINGUAL, base_transcript


def lines_article(lang: str) -> Article:
    lines = [line.split("|", 1)[1].strip() for line in (MULTILINGUAL / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
             if "|" in line]
    sentences, pos = [], 0
    for k, text in enumerate(lines):
        sentences.append(Sentence(k, k, text, pos, pos + len(text)))
        pos += len(text) + 2
    return Article(lang, lang, lang, "\n\n".join(lines), [(s.start_char, s.end_char) for s in sentences],
                   sentences, [], language=lang)


@pytest.mark.parametrize("lang", ["es", "de"])
def test_reading_is_detected_and_its_lines_align(lang):
    transcript = base_transcript(lang)  # shared with test_engines: one transcription per reading
    assert transcript.language == lang and transcript.language_probability > 0.9
    article = lines_article(lang)
    rows = every_sentence(article, align(article, {"v": transcript}))
    located = [r for r in rows if r.start is not None]
    assert len(located) >= 0.9 * len(rows)
    starts = [r.start for r in located]
    assert starts == sorted(starts)  # read in order, located in order


# A German sentence of FLEURS (11 s, another reader than de.mp3's): the CLI's own transcription
# of a language, without the minute of de.mp3 that the tests above already transcribe.
GERMAN_CLIP = FIXTURES / "real" / "recordings" / "sources" / "fleurs" / "fleurs-de-001.ogg"


def test_cli_reports_the_language(tmp_path: Path):
    report = run_json("add", str(GERMAN_CLIP), "--model", "base", archive=tmp_path)
    (video,) = report["videos"]
    assert video["status"] == "ok", report
    shown = run_json("show", video["id"], archive=tmp_path)
    assert shown["language"] == "de" and shown["language_probability"] > 0.9 and shown["model"] == "base"
