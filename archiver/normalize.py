"""Text to comparable tokens, for aligning an article with what a speech engine heard.

Both sides go through the same function. The words are those of archiver/words.py (the
rule the index and the export share), found in the text transliterated to Latin letters
(unidecode), because alignment compares sounds, not spellings: a name misheard as a
homophone in another script ("北京" and "背景" are both "bei jing") still meets. Numbers
are spelled out in the text's language first (num2words: "20" and "twenty", "1997" and
"nineteen ninety-seven", "M4" and "M-4" all meet).
"""
from __future__ import annotations

import functools
import re

from unidecode import unidecode

from .words import words

NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)")  # "2,300" and "3.5" are one number each
ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th|er|e|º|ª)$")


@functools.cache
def _number_words(number: str, lang: str) -> tuple[str, ...]:
    from num2words import num2words

    text = number
    if re.fullmatch(r"\d{1,3}(,\d{3})+", number) or (lang != "en" and re.fullmatch(r"\d{1,3}(\.\d{3})+", number)):
        text = re.sub(r"[.,]", "", number)  # thousands separators: "2,300" (en), "2.300" (es, de)
    elif lang != "en":
        text = number.replace(",", ".")  # decimal comma
    try:
        value = float(text) if "." in text else int(text)
    except ValueError:
        return tuple(re.findall(r"\d", number))
    to = "year" if isinstance(value, int) and 1100 <= value <= 2099 and len(number) == 4 and value % 100 else "cardinal"
    try:
        words = num2words(value, lang=lang, to=to)
    except (NotImplementedError, OverflowError, TypeError, ValueError):
        words = num2words(value, lang="en", to=to)
    return tuple(_plain_tokens(words))


def _plain_tokens(text: str) -> list[str]:
    return words(unidecode(text))


@functools.cache
def tokens(word: str, lang: str = "en") -> tuple[str, ...]:
    """The comparable tokens of one written word (perhaps several, perhaps none)."""
    text = unidecode(word)
    match = ORDINAL.match(text.lower().strip(".,;:!?\"()"))
    if match:
        from num2words import num2words
        try:
            return tuple(_plain_tokens(num2words(int(match.group(1)), lang=lang, to="ordinal")))
        except (NotImplementedError, ValueError):
            pass
    out: list[str] = []
    for n, piece in enumerate(NUMBER.split(text)):
        out.extend(_number_words(piece, lang) if n % 2 else words(piece))
    return tuple(out)


def text_tokens(text: str, lang: str = "en") -> list[str]:
    return [t for word in text.split() for t in tokens(word, lang)]


def base_language(language: str | None) -> str:
    return (language or "en").split("-")[0].split("_")[0].lower() or "en"
