"""Alignment on small hand-made transcripts: numbers, misheard words, skipped and swapped paragraphs."""
from __future__ import annotations

from archiver.align import align, every_sentence
from archiver.article import build_article
from archiver.models import Segment, Transcript, Word
from archiver.normalize import text_tokens


def transcript(text: str, start: float = 0.0, step: float = 0.4, video_id: str = "v") -> Transcript:
    words = []
    t = start
    for w in text.split():
        words.append(Word(round(t, 3), round(t + step * 0.8, 3), " " + w, 0.9))
        t += step
    return Transcript(video_id, "test", "test", "en", 1.0, t + 1, [Segment(start, t, text, words)])


def test_numbers_meet_in_words_and_digits():
    assert text_tokens("2,300 people in 1997 on the M4") == text_tokens("two thousand three hundred people in nineteen ninety-seven on the M-4")
    assert text_tokens("20 soldiers") == text_tokens("twenty soldiers")


def test_skipped_paragraph_is_not_spoken_and_intro_is_extra_speech():
    paragraphs = ["The harbour workers stopped loading ships on Monday morning in Rotterdam.",
                  "Officials in Brussels said the talks would resume after the weekend holiday.",
                  "Farmers near the border have been waiting for rain since the middle of April."]
    article = build_article("a", "a", "t", paragraphs, [])
    spoken = "hello and welcome to our evening news bulletin from the studio " + paragraphs[2] + " " + paragraphs[0]
    rows = every_sentence(article, align(article, {"v": transcript(spoken)}, snap_to_speech=False))
    assert rows[1].start is None
    assert rows[0].start is not None and rows[2].start is not None
    assert rows[2].start < rows[0].start  # swapped order is followed
    (alignment,) = align(article, {"v": transcript(spoken)}, snap_to_speech=False)
    assert alignment.extra_speech and "welcome" in alignment.extra_speech[0].text


def test_each_sentence_goes_to_the_video_that_speaks_it():
    paragraphs = ["The harbour workers stopped loading ships on Monday morning in Rotterdam.",
                  "Farmers near the border have been waiting for rain since the middle of April."]
    article = build_article("a", "a", "t", paragraphs, [])
    rows = every_sentence(article, align(article, {"one": transcript(paragraphs[1], video_id="one"),
                                                   "two": transcript(paragraphs[0], video_id="two")},
                                         snap_to_speech=False))
    assert [r.video_id for r in rows] == ["two", "one"]


def test_misheard_name_is_still_located_with_its_start():
    article = build_article("a", "a", "t", ["Syria and Russia say the zone of al-Tanf is a safe haven for the fighters."], [])
    heard = "Syria and Russia say the zone of Al-Tamp is a safe haven for the fighters."
    (row,) = every_sentence(article, align(article, {"v": transcript(heard, start=5.0)}, snap_to_speech=False))
    assert row.start == 5.0 and row.score > 0.8
