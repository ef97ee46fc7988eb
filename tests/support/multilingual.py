"""The multilingual readings of tests/fixtures/multilingual (a minute of Spanish, a minute of
German, LibriVox), transcribed by the base model once per test process.

test_engines (the joined base model tells the languages apart) and test_languages (the
readings' lines align) check the same transcript: one real transcription per language,
not one per test (each costs 15-30 s on CPU).
"""
from __future__ import annotations

import functools

from support import FIXTURES

MULTILINGUAL = FIXTURES / "multilingual"


@functools.cache
def base_transcript(lang: str):
    """`archiver.transcribe.transcribe` of MULTILINGUAL/<lang>.mp3 with model "base", the other
    options as a user gets them (beam 5, VAD). Read it, never change it: it is shared."""
    from archiver.media import load_audio
    from archiver.transcribe import TranscribeOptions, transcribe

    return transcribe(load_audio(MULTILINGUAL / f"{lang}.mp3"), "v", "sha", TranscribeOptions(model="base"))
