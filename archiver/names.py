"""The article's proper nouns (people, places, organisations), as the article spells them.

They are given to the speech engine as a prompt, so that the transcript spells "al-Tanf"
and "Zhaksybekov" as the article does (archiver/prompting.py). A rule over
capitalised runs, not a trained recogniser: no named-entity model ships on PyPI with its
weights in a well-kept package, and the decoder needs spellings, not entity types.

- A run is a sequence of capitalised words ("Ahrar al-Sham", "Joost van der Kruijssen"),
  joined over the small connectors of names ("van", "der", "al", "de", "von", ...). A word is
  capitalised when a letter of it is upper case at its start or after a hyphen ("al-Tanf").
- The first word of a sentence (or after a colon or an opening quote) is capitalised by
  grammar: it counts only when the article also writes it capitalised mid-sentence.
- German capitalises every noun: there a word after an article or a contraction ("der
  Regierung", "im Hafen") or with a noun suffix ("-ung", "-heit", ...) is a common noun.
"""
from __future__ import annotations

import re
from .models import Article

WORD = re.compile(r"[^\W\d_][\w'’-]*[\w]|[^\W\d_]")
CONNECTORS = {"al", "el", "ul", "bin", "ibn", "van", "der", "den", "de", "del", "della", "di", "da", "dos", "das",
              "von", "zu", "la", "le", "du", "of"}  # joined inside a run only ("Bank of England")
NOT_A_NAME = {"I"}
OPENERS = ('"', "“", "«", "„", "‘", "(", ":", "—", "–", "¡", "¿", "»")
GERMAN_DETERMINERS = {"der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines",
                      "kein", "keine", "keinen", "keinem", "keiner", "zum", "zur", "im", "am", "vom", "beim", "ins",
                      "ans", "aufs", "dieser", "diese", "dieses", "diesen", "diesem", "jeder", "jede", "jedes",
                      "mein", "meine", "sein", "seine", "ihr", "ihre", "unser", "unsere", "alle", "viele"}
GERMAN_NOUN_SUFFIXES = ("ung", "ungen", "heit", "keit", "schaft", "tion", "ionen", "ität", "nis", "tum", "ismus",
                        "chen", "lein", "ment", "ling", "ei")
NOUN_CAPITALISING = {"de", "lb"}


def _capitalised(word: str) -> bool:
    return any(part[:1].isupper() for part in word.split("-")) and word not in NOT_A_NAME


def _bare(word: str) -> str:
    """Without a possessive ("Rotterdam's") or a lower-case compound tail ("US-backed", "al-Qaeda-led")."""
    word = re.sub(r"['’]s$", "", word)
    parts = word.split("-")
    while len(parts) > 1 and parts[-1][:1].islower() and any(p[:1].isupper() for p in parts[:-1]):
        parts.pop()
    return "-".join(parts)


def sentence_names(text: str, language: str | None, known: set[str] = frozenset(),
                   common: set[str] = frozenset()) -> list[str]:
    """The proper nouns of one sentence, in order. `known`: words the article capitalises
    mid-sentence (a sentence's first word is a name only when it is one of them); `common`:
    words the article also writes in lower case ("Es" / "es"), not a name on their own."""
    german = (language or "en").split("-")[0] in NOUN_CAPITALISING
    words = [(m.group(), m.start()) for m in WORD.finditer(text)]
    names: list[str] = []
    run: list[str] = []

    def close() -> None:
        while run and run[-1].lower() in CONNECTORS:
            run.pop()
        if run and not (len(run) == 1 and run[0].lower() in common):
            names.append(" ".join(run))
        run.clear()

    for k, (word, at) in enumerate(words):
        word = _bare(word)
        before = text[words[k - 1][1] + len(words[k - 1][0]):at] if k else text[:at]
        initial = k == 0 or any(c in before for c in OPENERS) or re.search(r"[.!?]\s*$", before)
        gap = bool(re.search(r"[,;.!?()\[\]\"“”«»]", before))  # punctuation between words ends a run
        if gap:
            close()
        if not _capitalised(word):
            if run and word.lower() in CONNECTORS:
                run.append(word)
            else:
                close()
            continue
        if initial and word not in known:
            close()
            continue
        if german and (k and words[k - 1][0].lower() in GERMAN_DETERMINERS or word.lower().endswith(GERMAN_NOUN_SUFFIXES)):
            close()
            continue
        run.append(word)
    close()
    return names


def mid_sentence_capitalised(article: Article) -> set[str]:
    """Words the article writes capitalised where grammar does not ask for it."""
    known: set[str] = set()
    for sentence in article.sentences:
        words = [(m.group(), m.start()) for m in WORD.finditer(sentence.text)]
        for k, (word, at) in enumerate(words[1:], start=1):
            before = sentence.text[words[k - 1][1] + len(words[k - 1][0]):at]
            if _capitalised(word) and not any(c in before for c in OPENERS) and not re.search(r"[.!?]\s*$", before):
                known.add(_bare(word))
    return known


def article_names(article: Article) -> dict[int, list[str]]:
    """Sentence index -> its proper nouns (sentences without any are left out)."""
    known = mid_sentence_capitalised(article)
    common = {m.group() for m in WORD.finditer(article.text) if not any(c.isupper() for c in m.group())}
    out = {}
    for sentence in article.sentences:
        names = sentence_names(sentence.text, article.language, known, common)
        if names:
            out[sentence.index] = names
    return out


def unique(names_by_sentence: dict[int, list[str]]) -> list[str]:
    """Every name once, in the order of first appearance."""
    seen: dict[str, None] = {}
    for index in sorted(names_by_sentence):
        for name in names_by_sentence[index]:
            seen.setdefault(name, None)
    return list(seen)
