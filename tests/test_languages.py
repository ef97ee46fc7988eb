"""Languages other than English: the multilingual base model detects Spanish and German, and
the readings' texts align line by line."""
from __future__ import annotations

from pathlib import Path

import pytest

from archiver.align import align, every_sentence
from archiver.media import load_audio
from archiver.models import Article, Sentence
from archiver.transcribe import TranscribeOptions, transcribe

from conftest import FIXTURES, run_json

MULTILINGUAL = FIXTURES / "multilingual"


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
    transcript = transcribe(load_audio(MULTILINGUAL / f"{lang}.mp3"), "v", "sha", TranscribeOptions(model="base"))
    assert transcript.language == lang and transcript.language_probability > 0.9
    article = lines_article(lang)
    rows = every_sentence(article, align(article, {"v": transcript}))
    located = [r for r in rows if r.start is not None]
    assert len(located) >= 0.9 * len(rows)
    starts = [r.start for r in located]
    assert starts == sorted(starts)  # read in order, located in order


def test_cli_reports_the_language(tmp_path: Path):
    report = run_json("add", str(MULTILINGUAL / "de.mp3"), "--model", "base", archive=tmp_path)
    (video,) = report["videos"]
    assert video["status"] == "ok", report
    shown = run_json("show", video["id"], archive=tmp_path)
    assert shown["language"] == "de" and shown["language_probability"] > 0.9 and shown["model"] == "base"
