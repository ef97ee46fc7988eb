"""Text to comparable tokens, for aligning an article with what a speech engine heard.

Both sides go through the same function: lower case, diacritics folded (unidecode),
numbers spelled out in the text's language (num2words: "20" and "twenty", "1997" and
"nineteen ninety-seven", "M4" and "M-4" all meet), punctuation and hyphens split off.
"""
from __future__ import annotations

import functools
import re

from unidecode import unidecode

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th|er|e|º|ª)$")
SPLIT = re.compile(r"[a-z]+|\d+(?:[.,]\d+)*")


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
    return re.findall(r"[a-z]+", unidecode(text).lower())


@functools.cache
def tokens(word: str, lang: str = "en") -> tuple[str, ...]:
    """The comparable tokens of one written word (perhaps several, perhaps none)."""
    text = unidecode(word).lower().replace("'", "").replace("’", "")
    match = ORDINAL.match(text.strip(".,;:!?\"()"))
    if match:
        from num2words import num2words
        try:
            return tuple(_plain_tokens(num2words(int(match.group(1)), lang=lang, to="ordinal")))
        except (NotImplementedError, ValueError):
            pass
    out: list[str] = []
    for piece in SPLIT.findall(text):
        if piece[0].isdigit():
            out.extend(_number_words(piece.rstrip(".,"), lang))
        else:
            out.append(piece)
    return tuple(out)


def text_tokens(text: str, lang: str = "en") -> list[str]:
    return [t for word in text.split() for t in tokens(word, lang)]


def base_language(language: str | None) -> str:
    return (language or "en").split("-")[0].split("_")[0].lower() or "en"
