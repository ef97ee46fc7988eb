"""Names as the article spells them, in the transcript itself (issue 14.1).

Two passes, both with the article's proper nouns (archiver/names.py) as the decoder's prompt:

1. the whole video is transcribed with every name of the article (`whole_video_prompt`,
   TranscribeOptions.prompt: part of the transcript's cache key);
2. after alignment, each sentence whose names the transcript still spells otherwise is
   decoded once more on its own stretch of audio, prompted with that sentence's names only
   (`redecode_misheard`). The new words replace the old ones in that stretch when they spell
   more of its names and otherwise say the same thing; they carry `prompted: true`.

Never inventing a name: a stretch is re-decoded only where the alignment places a sentence
of the article (a skipped paragraph or an intro gets no prompt of its own), and a re-decode
that adds or drops more than a few words, or changes what the other words say, is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
from rapidfuzz import fuzz

from .models import Alignment, Article, Segment, Transcript, Word
from .names import article_names, unique
from .normalize import base_language, tokens

PAD = 0.2  # seconds of audio either side of a sentence's span, so its first and last words are whole
PROMPT_CHARACTERS = 600  # about Whisper's prompt limit (223 tokens); faster-whisper keeps the first ones
SIMILAR = 75  # rapidfuzz ratio the rest of a re-decoded stretch must keep with the first decode


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    names: tuple[str, ...]  # the sentence's names, the prompt of this re-decode
    sentence: int
    text: str  # the sentence as the article has it


def whole_video_prompt(article: Article) -> str:
    """Every proper noun of the article once, in order, within the decoder's prompt limit."""
    prompt = ""
    for name in unique(article_names(article)):
        longer = f"{prompt}, {name}" if prompt else name
        if len(longer) > PROMPT_CHARACTERS:
            break
        prompt = longer
    return prompt


def _plain(text: str, lang: str) -> list[str]:
    return [t for word in text.split() for t in tokens(word, lang)]


def spelled(name: str, words: list[str], lang: str) -> bool:
    """Whether the words say the name as written (case, diacritics and punctuation aside)."""
    want = _plain(name, lang)
    have = _plain(" ".join(words), lang)
    return bool(want) and any(have[k:k + len(want)] == want for k in range(len(have) - len(want) + 1))


def _words_in(transcript: Transcript, start: float, end: float) -> list[Word]:
    return [w for w in transcript.words if start <= (w.start + w.end) / 2 <= end]


def misheard(article: Article, alignment: Alignment, transcript: Transcript) -> list[Window]:
    """The located sentences whose names the transcript does not spell as the article does."""
    lang = base_language(article.language or transcript.language or "en")
    names = article_names(article)
    windows = []
    for located in alignment.sentences:
        wanted = names.get(located.index)
        if not wanted or located.start is None:
            continue
        heard = [w.word for w in _words_in(transcript, located.start, located.end)]
        if not all(spelled(name, heard, lang) for name in wanted):
            windows.append(Window(located.start, located.end, tuple(wanted), located.index,
                                  article.sentences[located.index].text))
    return windows


def _accept(old: list[Word], new: list[Word], window: Window, lang: str) -> bool:
    """More of the window's names spelled, no name said more often than the sentence says it, and
    the rest of the words the same speech."""
    old_text, new_text = [w.word for w in old], [w.word for w in new]
    before = sum(spelled(n, old_text, lang) for n in window.names)
    after = sum(spelled(n, new_text, lang) for n in window.names)
    if after <= before:
        return False
    name_tokens = {t for n in window.names for t in _plain(n, lang)}
    plain_old, plain_new = _plain(" ".join(old_text), lang), _plain(" ".join(new_text), lang)
    said = _plain(window.text, lang)
    if any(plain_new.count(t) > max(plain_old.count(t), said.count(t)) for t in name_tokens):
        return False  # a name the prompt put where the speech does not say it
    rest_old = [t for t in plain_old if t not in name_tokens]
    rest_new = [t for t in plain_new if t not in name_tokens]
    if abs(len(rest_new) - len(rest_old)) > max(2, len(rest_old) // 4):
        return False
    return fuzz.ratio(" ".join(rest_old), " ".join(rest_new)) >= SIMILAR


def splice(transcript: Transcript, start: float, end: float, words: list[Word]) -> list[Segment]:
    """The segments with the words of start..end replaced by `words` (put in the segment that held
    the first replaced word); segment texts follow their words."""
    inside = lambda w: start <= (w.start + w.end) / 2 <= end  # noqa: E731
    segments, placed = [], False
    for segment in transcript.segments:
        if not any(inside(w) for w in segment.words):
            segments.append(segment)
            continue
        kept_before = [w for w in segment.words if not inside(w) and w.end <= start + 0.05]
        kept_after = [w for w in segment.words if not inside(w) and w not in kept_before]
        new_words = kept_before + ([] if placed else words) + kept_after
        placed = True
        if new_words:
            speaker = segment.speaker
            for w in new_words:
                w.speaker = w.speaker or speaker
            segments.append(Segment(round(min(segment.start, new_words[0].start), 3),
                                    round(max(segment.end, new_words[-1].end), 3),
                                    "".join(w.word for w in new_words).strip(), new_words, speaker))
    return segments


def redecode_misheard(audio: Callable[[], np.ndarray], article: Article, alignment: Alignment,
                      transcript: Transcript, options) -> Transcript | None:
    """The transcript with its misheard names' sentences re-decoded, or None when nothing changed
    (no misheard name, every re-decode refused, or these very windows were tried before)."""
    from .transcribe import decode_window

    windows = misheard(article, alignment, transcript)
    tried = {tuple(t) for t in transcript.prompting.get("tried", [])}
    windows = [w for w in windows if (w.start, w.end, *w.names) not in tried]
    if not windows:
        return None
    lang = base_language(article.language or transcript.language or "en")
    samples = audio()
    record: dict[str, Any] = dict(transcript.prompting)
    record.setdefault("windows", [])
    record.setdefault("tried", [])
    changed = replace(transcript, segments=list(transcript.segments))
    for window in windows:
        record["tried"].append([window.start, window.end, *window.names])
        new = decode_window(samples, window.start - PAD, window.end + PAD,
                            replace(options, prompt=", ".join(window.names)))
        new = [w for w in new if window.start - 0.05 <= (w.start + w.end) / 2 <= window.end + 0.05]
        old = _words_in(changed, window.start - 0.05, window.end + 0.05)
        if not new or not _accept(old, new, window, lang):
            continue
        for w in new:
            w.prompted = True
        changed.segments = splice(changed, window.start - 0.05, window.end + 0.05, new)
        record["windows"].append({"start": window.start, "end": window.end, "names": list(window.names),
                                  "sentence": window.sentence, "article_id": article.id})
    changed.prompting = record
    return changed
