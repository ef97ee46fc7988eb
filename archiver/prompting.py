"""Names as the article spells them, in the transcript itself (issue 14.1).

Two passes, both with the article's proper nouns (archiver/names.py) as the decoder's prompt:

1. the whole video is transcribed with every name of the article (`whole_video_prompt`,
   TranscribeOptions.prompt: part of the transcript's cache key);
2. after alignment, each sentence whose names the transcript still spells otherwise is
   decoded once more on its own stretch of audio, prompted with that sentence's names only
   (`redecode_misheard`). Only the words that spell a name the first decode misheard are taken
   from the re-decode (`merge_names`); they carry `prompted: true`.

Never inventing a name: a stretch is re-decoded only where the alignment places a sentence
of the article (a skipped paragraph or an intro gets no prompt of its own); a name replaces a
misheard form of a few words, never silence, and never appears more often than the sentence
says it. The whole-video pass drops what it writes outside speech (transcribe.heard_only).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from .models import Alignment, Article, Segment, Transcript, Word
from .names import article_names, unique
from .normalize import base_language, tokens
from .transcribe import GAP

PAD = 0.2  # seconds of audio either side of a sentence's span, so its first and last words are whole
PROMPT_CHARACTERS = 600  # about Whisper's prompt limit (223 tokens); faster-whisper keeps the first ones


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


def _run_spelling(words: list[Word], name: str, lang: str) -> tuple[int, int] | None:
    """The shortest [first, last) of the words that spells the name, or None."""
    for size in range(1, len(words) + 1):
        for first in range(len(words) - size + 1):
            if spelled(name, [w.word for w in words[first:first + size]], lang):
                return first, first + size
    return None


def merge_names(old: list[Word], new: list[Word], window: Window, lang: str) -> list[Word] | None:
    """The stretch's words with only its names taken from the re-decode, or None when it spells
    no more of them.

    For each name the first decode misheard and the re-decode spells, the re-decode's words of
    that name replace the old words heard at the same time (the misheard form: "Brahma Travrić"
    -> "Brahmaputra"); everything else stays as the first decode heard it, because a prompt of
    names pulls the decoder towards a list of names, which must not rewrite the rest of the
    sentence. A name never replaces silence (no old word at its time) or a long stretch, and
    never appears more often than the sentence says it."""
    merged = list(old)
    gained = 0
    for name in window.names:
        if spelled(name, [w.word for w in merged], lang):
            continue
        run = _run_spelling(new, name, lang)
        if run is None:
            continue
        words = new[run[0]:run[1]]
        start, end = words[0].start - 0.05, words[-1].end + 0.05
        heard = [k for k, w in enumerate(merged) if start <= (w.start + w.end) / 2 <= end]
        if not heard or len(heard) > len(_plain(name, lang)) + 3 or heard != list(range(heard[0], heard[-1] + 1)):
            continue
        merged[heard[0]:heard[-1] + 1] = [replace(w, prompted=True) for w in words]
        gained += 1
    if not gained:
        return None
    said = _plain(window.text, lang)
    plain_old, plain_new = _plain(" ".join(w.word for w in old), lang), _plain(" ".join(w.word for w in merged), lang)
    for t in {t for n in window.names for t in _plain(n, lang)}:
        if plain_new.count(t) > max(plain_old.count(t), said.count(t)):
            return None  # a name the prompt put where the speech does not say it
    return merged


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


def batches(windows: list[Window], seconds: float = 28.0) -> list[list[Window]]:
    """Windows in time order, grouped so that each group's stretches (padded, with the gaps
    between them) fit in one 30 s pass of the decoder."""
    groups: list[list[Window]] = []
    length = 0.0
    for window in sorted(windows, key=lambda w: w.start):
        size = window.end - window.start + 2 * PAD + GAP
        if groups and length + size <= seconds:
            groups[-1].append(window)
            length += size
        else:
            groups.append([window])
            length = size
    return groups


def redecode_misheard(audio: Callable[[], np.ndarray], article: Article, alignment: Alignment,
                      transcript: Transcript, options) -> Transcript | None:
    """The transcript with its misheard names' sentences re-decoded, or None when nothing changed
    (no misheard name, every re-decode refused, or these very windows were tried before).

    The misheard sentences are decoded a few at a time (up to 30 s of them in one pass, see
    transcribe.decode_stretches), prompted with the names of those sentences; each sentence
    takes from the result only its own names (merge_names)."""
    from .transcribe import decode_stretches

    windows = misheard(article, alignment, transcript)
    # by sentence, not by time: the alignment after a re-decode moves the spans a little
    tried = {tuple(t) for t in transcript.prompting.get("tried", [])}
    windows = [w for w in windows if (article.id, w.sentence, *w.names) not in tried]
    if not windows:
        return None
    lang = base_language(article.language or transcript.language or "en")
    samples = audio()
    record: dict[str, Any] = dict(transcript.prompting)
    record.setdefault("windows", [])
    record.setdefault("tried", [])
    changed = replace(transcript, segments=list(transcript.segments))
    started = time.perf_counter()
    for group in batches(windows):
        prompt = ", ".join(dict.fromkeys(n for w in group for n in w.names))
        decoded = decode_stretches(samples, [(w.start - PAD, w.end + PAD) for w in group],
                                   replace(options, model=transcript.model, prompt=prompt,  # the model "auto" chose
                                           language=options.language or transcript.language or None))
        for window, new in zip(group, decoded):
            record["tried"].append([article.id, window.sentence, *window.names])
            new = [w for w in new if window.start - 0.05 <= (w.start + w.end) / 2 <= window.end + 0.05]
            old = _words_in(changed, window.start - 0.05, window.end + 0.05)
            merged = merge_names(old, new, window, lang) if new and old else None
            if merged is None:
                continue
            changed.segments = splice(changed, window.start - 0.05, window.end + 0.05, merged)
            record["windows"].append({"start": window.start, "end": window.end, "names": list(window.names),
                                      "sentence": window.sentence, "article_id": article.id})
    record["seconds"] = round(record.get("seconds", 0.0) + time.perf_counter() - started, 3)
    changed.prompting = record
    return changed
