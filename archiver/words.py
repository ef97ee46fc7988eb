"""What a word is, wherever text is matched: one rule for the index and every query
(index/), the alignment (archiver/normalize.py builds on it), and the export's search
(archiver/export.py), whose twin in the browser is archiver/export_static/words.js
(tests/test_words.py runs both on the same inputs, every Unicode character included).

- Folded: lower case by Unicode case folding ("Straße" and "strasse" meet), accents
  removed ("Señor" and "senor"), and the letters that carry no accent to remove written as
  their base ("ø", "ł", "æ"). A script's own vowel signs are not accents and stay; they
  are not letters either, so they part a word (Devanagari "हिन्दी" is "ह न द"): a limit,
  the same on both sides of every match.
- A word is a run of letters, digits and "_" (Python's \\w). "al-Tanf" is two words, as a
  speech engine may write it; so are "Alomar's" and "don't" (a query for "don't" is the
  phrase "don t"), so that "Alomar" finds "Alomar's".
- Chinese and Japanese write no spaces between words: each ideograph and each kana is a
  word of its own, so that a word inside a sentence can be found (as a phrase of its
  characters: "北京" is "北 京"); as one run, a whole clause was a single word.

A change to these rules changes the terms of every index: bump index/schema.TERMS_VERSION
(the next `add` then rebuilds an older index), and change words.js alike.
"""
from __future__ import annotations

import re
import unicodedata

# Combining diacritical marks (the generic blocks, not a script's own vowel signs)
MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
# Han ideographs, kana and their iteration marks: one word each (words.js has the same ranges)
IDEOGRAPHS = ("\u3005-\u3007\u3021-\u3029\u3038-\u303c\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
              "\uf900-\ufaff\U0001b000-\U0001b16f\U00020000-\U000323af")
WORD = re.compile(rf"(?=\w)[{IDEOGRAPHS}]|[^\W{IDEOGRAPHS}]+")
_ASCII_WORD = re.compile(r"\w+", re.ASCII)
_MARKS = re.compile(f"[{MARKS}]+")
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th", "’": "'"})


def fold(text: str) -> str:
    """Lower case without accents: "Señor" and "senor" are one word."""
    if text.isascii():
        return text.lower()
    # NFC after the accents are gone puts back what other marks compose: "が" stays "が"
    # (not "か" and a voicing mark), Korean syllables stay syllables (not their letters)
    text = unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFKD", text)))
    return text.casefold().translate(_LETTERS)


def words(text: str) -> list[str]:
    """The words of a text, folded, in order."""
    if text.isascii():  # most text: the same words, found faster
        return _ASCII_WORD.findall(text.lower())
    return WORD.findall(fold(text))


def spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) for each of words(text), start and end offsets into text itself
    (what to highlight). An accent that folding removes stays with its letter."""
    if text.isascii():
        return [(m.start(), m.end(), m.group().lower()) for m in _ASCII_WORD.finditer(text)]
    starts = [i for i, c in enumerate(text) if i == 0 or not _attached(c)]
    bounds = list(zip(starts, starts[1:] + [len(text)]))
    folded = [fold(text[a:b]) for a, b in bounds]  # one at a time: the words of fold(text)
    origin = [k for k, piece in enumerate(folded) for _ in piece]
    out = []
    for m in WORD.finditer("".join(folded)):
        first, last = origin[m.start()], origin[m.end() - 1]
        out.append((bounds[first][0], bounds[last][1], m.group()))
    return out


def _attached(c: str) -> bool:
    """Whether c folds together with the character before it (NFC may compose them): a mark,
    a kana voicing mark, the vowel or final of a Korean syllable."""
    if c < "\u0300":  # nothing before the combining marks attaches
        return False
    first = unicodedata.normalize("NFKD", c)[0]
    return unicodedata.category(first)[0] == "M" or "\u1160" <= first <= "\u11ff" or "\ud7b0" <= first <= "\ud7ff"
