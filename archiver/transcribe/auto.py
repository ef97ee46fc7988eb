"""Model "auto": which model transcribes a recording, and why.

English speech goes to the fast English-only model (tiny.en), any other language to the
multilingual one (base). The language comes from `--language` when given; otherwise from
language identification on the speech itself (the multilingual model's `detect_language`
on the first 30-second windows of what the VAD calls speech, so an opening of music or
silence does not decide) together with the article's language: a confident identification
wins (an English article may embed a French interview), an unsure one defers to the article.
An explicit model (`--model`, or a model named in the config) is used as it is.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import AUTO, ENGLISH_MODEL, MULTILINGUAL_MODEL, TranscribeOptions

CONFIDENT = 0.5  # an identification at least this sure overrides the article's language
WINDOWS = 3  # 30-second windows of speech tried until one is confident


@dataclass
class Choice:
    options: TranscribeOptions  # the model (and, for auto, the language) resolved
    reason: str  # for `show` and `status`: "base (auto: speech detected fr 0.97; article language fr)"
    probability: float | None = None  # of the identified language, when identification ran


def choose(audio: np.ndarray, speech: list[tuple[float, float]], options: TranscribeOptions,
           article_language: str | None) -> Choice:
    if options.model != AUTO:
        return Choice(options, f"{options.model} (set by --model or the config)")
    if options.language:
        model = ENGLISH_MODEL if options.language == "en" else MULTILINGUAL_MODEL
        return Choice(replace(options, model=model), f"{model} (auto: language {options.language} given)")
    article = _base_language(article_language)
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

    chunks = [audio[int(s * 16000):int(e * 16000)] for s, e in speech]
    voiced = np.concatenate(chunks) if chunks else audio
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
