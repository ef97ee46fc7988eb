"""What one indexed passage is.

Two kinds of documents share one schema so that a single search ranks them together:
an article sentence (carrying the time where it is spoken), and a transcript passage of two
adjacent segments (so a phrase that Whisper cut in two still matches), carrying the start
time of each of its words. Times are STORED, not NUMERIC: no range query needs them and
numeric fields make indexing about 3x slower.
"""
from __future__ import annotations

import functools

from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

# No stop words: "the" in "the T3 station" must still match inside a phrase.
WORD_PATTERN = r"\w+(?:['’]\w+)*"  # "al-Tanf" is two words, as a speech engine may write it


@functools.cache
def analyzer():
    return RegexTokenizer(WORD_PATTERN) | LowercaseFilter() | CharsetFilter(accent_map)


def make_schema() -> Schema:
    return Schema(
        doc_id=ID(unique=True, stored=True),
        owner=ID(stored=True),  # the article or video whose re-indexing replaces this document
        source=ID(stored=True),  # "article" | "transcript"
        video_id=ID(stored=True),
        article_id=ID(stored=True),
        lang=ID(stored=True),
        date=ID(stored=True),  # ISO date of the article, compared as text by after:/before:
        text=TEXT(analyzer=analyzer(), stored=True, phrase=True, spelling=True),
        sounds=TEXT(analyzer=RegexTokenizer(r"\S+"), phrase=False),  # phonetic keys, one per word
        start=STORED(),
        end=STORED(),
        word_starts=STORED(),  # transcript passages: start time of each whitespace word
    )
