"""Sound-alike keys, so that "Idlib" finds the "Iedland" that a speech engine wrote.

Metaphone (jellyfish, a well-kept C implementation) gives a consonant skeleton per word;
we index the first four letters of the key, which tolerates a wrong ending.
"""
from __future__ import annotations

import functools
import re

import jellyfish
from unidecode import unidecode

KEY_LENGTH = 3


@functools.cache
def key(word: str) -> str:
    letters = re.sub(r"[^a-z]", "", unidecode(word).lower())
    if not letters:
        return ""
    return (jellyfish.metaphone(letters) or letters)[:KEY_LENGTH].lower()


def keys(text: str) -> list[str]:
    """One key per word part ("al-Tanf" -> keys of "al" and "tanf")."""
    return [k for part in re.findall(r"[^\W\d_]+", text) if (k := key(part))]
