"""What one indexed passage is, and how its text becomes terms.

Two kinds of documents share one schema so that a single search ranks them together: an
article sentence (carrying the time where it is spoken) and a transcript passage of two
adjacent segments (so a phrase that Whisper cut in two still matches), carrying the start
time of each of its words.

Why the fields look the way they do (benchmarks/search.py, 1M passages, 2 cores):
- `text` keeps no positions. A phrase is looked up as word pairs in `pairs` ("safe haven"
  is the one term "safe haven"), which is rarer than either word, instead of decoding
  positions in Python for every passage that has all the words (950 ms p95 before, 28 ms
  now). Pairs cost about half of the indexing time; phrases are worth it.
- Terms are made by one regular expression over the folded text (`terms`), not by a chain
  of Whoosh filters, and the writer (engine.FastSegmentWriter) asks each field for its
  terms directly: the analyzer runs only on queries.
- Phonetic keys are not a field: a key per word of every passage made a fifth of the
  indexing time, and the table of distinct words (phonetic.Lexicon) answers the same.
- Times are STORED, not NUMERIC (no range query needs them; numeric fields make indexing
  about 3x slower); word times are packed as bytes and start/end are plain floats.
- `date` is indexed at three granularities (year, month, day) so that after:/before: is a
  handful of terms, not a range over every day; every passage has exactly one `source`,
  one `lang` ("und" when unknown) and a date ("none"), so that a filter which keeps most
  passages can be run as NOT its complement (search._mostly).
"""
from __future__ import annotations

import re
from collections import Counter

from whoosh.analysis import Token, Tokenizer
from whoosh.fields import ID, STORED, FieldType, Schema
from whoosh.formats import Existence, Frequency

# `terms`: the searchable words of a text, in order (what the index and every query see), by
# the one rule of what a word is, which the alignment and the export share (archiver/words.py).
from archiver.words import WORD, fold, words as terms  # noqa: F401 (WORD, fold: for search.py)

# Kept in every index (its schema's text field): an index whose terms were made by other
# rules is outdated (search.is_current), and the next `add` rebuilds it. 2: each ideograph or
# kana is a word of its own, words of decomposed text as of composed text.
TERMS_VERSION = 2


def pair_terms(words: list[str]) -> list[str]:
    return [f"{a} {b}" for a, b in zip(words, words[1:])]


class FoldingTokenizer(Tokenizer):
    """The query-side twin of `terms`: Whoosh's parser needs Token objects."""

    def __eq__(self, other):
        return type(self) is type(other)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        folded = fold(value)
        matches = WORD.finditer(folded) if tokenize else [re.match(r".*", folded, re.S)]
        for i, m in enumerate(matches):
            token.text = m.group()
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = token.text
            if positions:
                token.pos = start_pos + i
            if chars:
                token.startchar, token.endchar = start_char + m.start(), start_char + m.end()
            yield token


class Counts(Frequency):
    """Frequency without a per-posting value: the frequency is the posting's weight."""

    posting_size = 0


class _TermsField(FieldType):
    """A field whose value is a list of terms, or a text that `terms_of` turns into them.

    The writer calls each field with the same text object, so the words are found once
    per document (`_cached_terms`) and shared by `text` and `pairs`.
    """

    scorable = True
    stored = False
    unique = False

    def __init__(self, stored: bool = False):
        self.analyzer = FoldingTokenizer()
        self.format = Counts()
        self.stored = stored
        self.vector = None
        self.column_type = None
        self.terms_version = TERMS_VERSION  # pickled into the index with the schema

    def terms_of(self, words: list[str]) -> list[str]:
        return words

    def term_counts(self, value) -> dict[str, int]:
        """{term: frequency}: what engine.FastSegmentWriter indexes."""
        words = value if isinstance(value, list) else _cached_terms(value)
        return Counter(self.terms_of(words))

    def index(self, value, **kwargs):
        return [(t.encode("utf-8"), n, float(n), b"") for t, n in self.term_counts(value).items()]

    def self_parsing(self):
        return False


class WordsField(_TermsField):
    """The passage's words, with frequencies (for BM25) but no positions."""

    multitoken_query = "phrase"  # a query word that is several terms ("al-Tanf") is a phrase


class PairsField(_TermsField):
    """Adjacent word pairs: a phrase query is an AND of its pairs. Each pair counts once
    per passage (a phrase said twice in one passage scores as once), so the writer keeps
    no frequencies for them."""

    def terms_of(self, words: list[str]) -> list[str]:
        return pair_terms(words)

    def term_set(self, value) -> set[str]:
        words = value if isinstance(value, list) else _cached_terms(value)
        return set(pair_terms(words))

    def term_counts(self, value) -> dict[str, int]:
        return dict.fromkeys(self.term_set(value), 1)


class KeywordField(FieldType):
    """An exact value (an id, "article", "en"), or a list of them; no analysis at all."""

    keyword = True
    scorable = False
    stored = False
    unique = False

    def __init__(self, stored: bool = False):
        self.analyzer = ID().analyzer
        self.format = Existence()
        self.stored = stored
        self.vector = None
        self.column_type = None

    def term_counts(self, value) -> dict[str, int]:
        return {v: 1 for v in (value if isinstance(value, list) else [value]) if v}

    def index(self, value, **kwargs):
        return [(v.encode("utf-8"), 1, 1.0, b"") for v in self.term_counts(value)]


_last_text: list = [None, None]


def _cached_terms(text: str) -> list[str]:
    if _last_text[0] is not text:
        _last_text[0], _last_text[1] = text, terms(text)
    return _last_text[1]


def date_terms(iso: str) -> list[str]:
    """"2020-03-20" -> ["y2020", "m2020-03", "d2020-03-20"]; see search.date_range_terms."""
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", iso or ""):
        return []
    out = [f"y{iso[:4]}"]
    if len(iso) >= 7:
        out.append(f"m{iso[:7]}")
    if len(iso) == 10:
        out.append(f"d{iso}")
    return out


def make_schema() -> Schema:
    return Schema(
        source=KeywordField(stored=True),  # "article" | "transcript" | "translation"
        video_id=KeywordField(stored=True),
        article_id=KeywordField(stored=True),
        lang=KeywordField(),  # "und" when unknown: every passage has one (see search._mostly)
        date=KeywordField(),  # date_terms() of the article date, "none" when unknown
        speaker=KeywordField(),  # who speaks: ids ("s1") and folded names (writer.speaker_terms)
        text=WordsField(stored=True),
        pairs=PairsField(),
        start=STORED(),
        end=STORED(),
        times=STORED(),  # transcript passages: packed start time of each whitespace-separated word
    )
