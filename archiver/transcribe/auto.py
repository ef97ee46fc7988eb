"""Model "auto": which model transcribes a recording, and why.

English speech goes to the fast English-only model (tiny.en), any other language to the
multilingual one (base). The language comes from `--language` when given; otherwise from
language identification on the speech itself (the multilingual model's `detect_language`
on the first 30-second windows of what the VAD calls speech, so an opening of music or
silence does not decide) together with the article's language: a confident identification
wins (an English article may embed a French interview), an unsure one defers to the article.
An article that says it is English skips the multilingual model altogether when the English
model hears English: `confirm` looks at what it transcribed (the median word probability is
0.95-0.99 on English speech and 0.28-0.48 on French, German, Spanish, Portuguese or Swedish
speech read by it), and only when unsure does the speech get identified. An explicit model
(`--model`, or a model named in the config) is used as it is.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import AUTO, ENGLISH_MODEL, MULTILINGUAL_MODEL, TranscribeOptions

CONFIDENT = 0.5  # an identification at least this sure overrides the article's language
WINDOWS = 3  # 30-second windows of speech tried until one is confident
SURE_ENGLISH = 0.75  # the English model heard English: median probability of its words
ENOUGH_WORDS = 5  # fewer words than this tell nothing


@dataclass
class Choice:
    options: TranscribeOptions  # the model (and, for auto, the language) resolved
    reason: str  # for `show` and `status`: "base (auto: speech detected fr 0.97; article language fr)"
    probability: float | None = None  # of the identified language, when identification ran
    confirm: bool = False  # the English model chosen from the article alone: see `confirm`


def choose(audio: np.ndarray, speech: list[tuple[float, float]], options: TranscribeOptions,
           article_language: str | None) -> Choice:
    if options.model != AUTO:
        return Choice(options, f"{options.model} (set by --model or the config)")
    if options.language:
        model = ENGLISH_MODEL if options.language == "en" else MULTILINGUAL_MODEL
        return Choice(replace(options, model=model), f"{model} (auto: language {options.language} given)")
    article = _base_language(article_language)
    if article == "en":  # the article says English: the fast model first, `confirm` checks it heard English
        return Choice(replace(options, model=ENGLISH_MODEL, language="en"),
                      f"{ENGLISH_MODEL} (auto: article language en", confirm=True)
    return from_speech(audio, speech, options, article)


def confirm(choice: Choice, words: list[float], audio: np.ndarray, speech: list[tuple[float, float]],
            options: TranscribeOptions) -> Choice:
    """After the English model transcribed an English article's video (`words`: the probability
    of each word it heard): the choice with its reason complete, or the choice made from the
    speech when the English model was unsure of what it heard (then it may be another model)."""
    median = float(np.median(words)) if len(words) >= ENOUGH_WORDS else 0.0
    if median >= SURE_ENGLISH:
        return replace(choice, reason=f"{choice.reason}; tiny.en heard English, median word probability {median:.2f})",
                       confirm=False)
    heard = f"article language en, but tiny.en unsure (median word probability {median:.2f})"
    other = from_speech(audio, speech, options, "en")
    return replace(other, reason=other.reason.replace("article language en", heard))


def from_speech(audio: np.ndarray, speech: list[tuple[float, float]], options: TranscribeOptions,
                article: str | None) -> Choice:
    """The model for the language identified on the speech (the article's when unsure)."""
    from .models import bundled_model_path

    if bundled_model_path(MULTILINGUAL_MODEL) is None:  # not installed: the English model is all there is
        return Choice(replace(options, model=ENGLISH_MODEL),
                      f"{ENGLISH_MODEL} (auto: the multilingual model is not installed)")
    language, probability = identify(audio, speech, options)
    parts = [f"speech detected {language} {probability:.2f}" if language else "no speech to identify",
             f"article language {article}" if article else "no article language"]
    if not language or (probability < CONFIDENT and article):
        language = article or language or "en"
        parts.append(f"chose {language}")
    model = ENGLISH_MODEL if language == "en" else MULTILINGUAL_MODEL
    return Choice(replace(options, model=model, language=language), f"{model} (auto: {'; '.join(parts)})",
                  probability or None)


def identify(audio: np.ndarray, speech: list[tuple[float, float]], options: TranscribeOptions) -> tuple[str, float]:
    """(language, probability) by the multilingual model on the first windows of speech."""
    from .faster import load_model
    import os

    chunks, enough = [], WINDOWS * 30 * 16000  # only what the windows hear: not a long file's every feature
    for s, e in speech:
        chunks.append(audio[int(s * 16000):int(e * 16000)])
        if sum(map(len, chunks)) >= enough:
            break
    voiced = np.concatenate(chunks)[:enough] if chunks else audio[:enough]
    if len(voiced) < 16000 * 0.5:
        return "", 0.0
    model = load_model(MULTILINGUAL_MODEL, options.compute_type, options.cpu_threads or os.cpu_count() or 1,
                       options.workers)
    language, probability, _ = model.detect_language(voiced, language_detection_segments=WINDOWS,
                                                     language_detection_threshold=CONFIDENT)
    return language, float(probability)


def _base_language(tag: str | None) -> str | None:
    """"fr-FR", "fr_fr", "FR" -> "fr"."""
    return tag.replace("_", "-").split("-")[0].lower() if tag else None
