"""Hypothesis for the property tests (tests/test_fuzz.py): its settings profiles and the
hostile inputs they draw from.

Profiles (HYPOTHESIS_PROFILE, loaded by tests/conftest.py):
    ci    the default: a bounded number of examples, the same ones every run (derandomized),
          so `make test` stays fast and a failure reproduces
    deep  thousands of new random examples a test; failures are kept in
          .pytest_cache/hypothesis (never in the repository) and replayed first next time
ARCHIVER_FUZZ_EXAMPLES=N sets the number of examples a test in either profile; a test that
is slow per example runs a share of them (`examples`).
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from . import ROOT

CI_EXAMPLES, DEEP_EXAMPLES = 60, 5000
_SLOW_INPUTS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, database=None, derandomize=True,
                          print_blob=True, suppress_health_check=_SLOW_INPUTS)
settings.register_profile("deep", max_examples=DEEP_EXAMPLES, deadline=None, print_blob=True,
                          database=DirectoryBasedExampleDatabase(ROOT / ".pytest_cache" / "hypothesis"),
                          suppress_health_check=_SLOW_INPUTS)


def load_profile() -> None:
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    count = os.environ.get("ARCHIVER_FUZZ_EXAMPLES")
    if count:
        settings.register_profile(f"{name}-{count}", settings.get_profile(name), max_examples=int(count))
        name = f"{name}-{count}"
    settings.load_profile(name)


def examples(share: float = 1.0) -> settings:
    """Settings for a test whose examples cost more than most: `share` of the profile's count."""
    return settings(max_examples=max(5, round(settings.default.max_examples * share)))


# ---------------------------------------------------------------- hostile text

# What real and malicious pages carry that naive code trips on, a piece at a time.
HOSTILE = [
    # controls: NUL, the index's own snippet marks (\x02 \x03), a terminal escape, C1, line breaks of every kind
    "\x00", "\x01", "\x02", "\x03", "\x07", "\x08", "\x0b", "\x0c", "\x1b[31m", "\x1c", "\x1f", "\x7f", "\x85",
    "\x9b", "\r", "\r\n", "\n", "\n\n", "\t", "\u2028", "\u2029",
    # bidi overrides and isolates, zero-width and invisible characters, byte order marks, noncharacters
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
    "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f", "\ufffd", "\ufffe", "\uffff",
    "\U0010ffff", "\U000e0001",
    # lone surrogates (a str holds them; no encoder does)
    "\ud800", "\udfff", "\ud83d",
    # letters that fold, combine, widen or count as digits
    "\U0001f600", "\U0001f1fa\U0001f1f8", "e\u0301", "\u0301", "\ufb01", "\u216b", "\u00b2", "\u0663", "\U0001d7d8",
    "\u0130", "\u00df", "\u1e9e", "\u03a3", "\u3000", "\u00a0",
    # markup and entities, broken and not
    "&", "&amp", "&amp;amp;", "&#0;", "&#x0;", "&#xD800;", "&#1114112;", "&#99999999999;", "&bogus;", "&lt", "&#",
    "&#x;", "&#27;", "<", ">", "</", "<!--", "-->", "<![CDATA[", "]]>", "<?xml version='1.0'?>", "<!DOCTYPE html>",
    "<script>", "</script>", "<p>", "</p>", "<br>", "<hr>", "<video src=x.mp4>", "<a href='v.mp4'>",
    # the query language and other punctuation
    '"', "'", "`", "\\", "/", "*", "?", "~", "~9", "^", "^2", "(", ")", "[", "]", "{", "}", ":", "-", "--", "+",
    " OR ", " AND ", " NOT ", "TO", "[a TO z]", "article:", "video:", "source:", "lang:", "after:", "before:", "speaker:",
    # what sentence splitters and number speakers see
    "al-Tanf", "U.S.", "10 a.m.", "1,234", "3.14", "1st", "2.300", "9" * 40, "9" * 400 + "th", "1." * 30,
    "\u3002", "\u300c", "\u300d", "\u2026", "Mr.", "e.g.", "?!", "...", "#", "> ", "* ", "1. ", "```", "---",
]
WORDS = ["the", "army", "safe", "haven", "Idlib", "al-Tanf", "Pompeo", "said", "Syria", "ISIS", "twenty", "20",
         "señor", "Pérez", "日本", "東京", "Москва", "قال", "שלום"]

# Every character Python's str can hold: all Unicode categories, surrogates and unassigned included.
any_character = st.characters(codec=None, exclude_categories=())
hostile_piece = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(WORDS), st.text(any_character, max_size=8))


def hostile_text(max_pieces: int = 40) -> st.SearchStrategy[str]:
    return st.lists(hostile_piece, max_size=max_pieces).map("".join)


def prose(max_pieces: int = 60) -> st.SearchStrategy[str]:
    """Mostly words and sentence ends, some hostile pieces: text that gets past the main-text filters."""
    piece = st.one_of(st.sampled_from(WORDS).map(lambda w: w + " "), st.sampled_from([". ", "? ", "! ", ", "]),
                      hostile_piece)
    return st.lists(piece, max_size=max_pieces).map("".join)


finite_seconds = st.floats(min_value=0, max_value=3600, allow_nan=False)
hostile_seconds = st.one_of(finite_seconds, st.floats(), st.sampled_from([0.0, -0.0, -1.0, 1e300, -1e300]))
