#!/usr/bin/env python3
"""Real recordings, default configuration: are the article's sentences found, and where?

For each item of tests/fixtures/real/recordings/ (real human speech; see its SOURCES.md),
archive article.txt as the article and audio.ogg as its video with the real pipeline and
the DEFAULT configuration (no options), then compare with truth.json:

- located: share of the article's sentences given a time;
- start / end error: |aligned - true| at each utterance's start and end, against where its
  speech starts and ends (read off the spectrogram, sources/speech-bounds.tsv); article
  sentences are matched to utterances by their text, so a sentence split of its own (an
  abbreviation) does not shift the comparison; boundaries off by more than 0.5 s are
  printed with the words heard around them;
- WER: the transcript against the human transcripts (jiwer, after Whisper's normalizers);
- the language detected (and its probability), the model chosen and why.

Baseline, measured in the same run: the clean English items with the settings before
this benchmark existed (tiny.en, ffmpeg's plain downmix, no recovery of speech the VAD
skipped). Figures are printed for the items marked tuning and held out in truth.json (see
SOURCES.md: every item has been looked at since).

Targets: >= 95% of the sentences located; median start and end error <= 0.1 s, p90 <= 0.5 s;
every item's language right; English WER on clean speech no worse than the baseline
(+0.5 point for rounding). Exit status 1 when one is missed.

    python benchmarks/real_speech.py [--items en-clean,fr-fleurs] [--json out.json]

`run() -> bool` runs everything and prints the same figures (for a benchmark that runs
this one with benchmarks/real_pages.py).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "fixtures" / "real" / "recordings"
CLEAN_ENGLISH = ("en-clean", "en-fleurs")
BASELINE = {"model": "tiny.en", "loudness": False, "recover_speech": False}
LOCATED_TARGET, MEDIAN_TARGET, P90_TARGET, WER_MARGIN = 0.95, 0.1, 0.5, 0.005


@dataclass
class Result:
    name: str
    heldout: bool
    language: str
    sentences: int = 0
    located: int = 0
    start_errors: list[float] = field(default_factory=list)
    end_errors: list[float] = field(default_factory=list)
    wer: float = 0.0
    detected: str = ""
    probability: float = 0.0
    model: str = ""
    reason: str = ""
    seconds: float = 0.0
    missed: list[str] = field(default_factory=list)
    unmeasured: list[str] = field(default_factory=list)  # truth boundaries inside an article sentence
    boundaries: list[dict] = field(default_factory=list)  # every compared boundary: truth and ours
    words: list[dict] = field(default_factory=list)  # what was heard, for the worst boundaries


def items(names: list[str] | None = None) -> list[dict]:
    found = [json.loads(p.read_text(encoding="utf-8")) | {"dir": p.parent} for p in sorted(CORPUS.glob("*/truth.json"))]
    return [i for i in found if not names or i["name"] in names]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return re.sub(r"[^\w]+", " ", "".join(c for c in text if not unicodedata.combining(c))).strip()


def normalizer(language: str):
    try:
        from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer
    except ImportError:  # openai-whisper is a dev extra; a plain fold is close enough
        return _fold
    return EnglishTextNormalizer() if language == "en" else BasicTextNormalizer()


def word_error_rate(reference: str, hypothesis: str, language: str) -> float:
    import jiwer

    norm = normalizer(language)
    ref, hyp = norm(reference), norm(hypothesis)
    return jiwer.wer(ref, hyp) if ref.strip() else 0.0


def archive_item(item: dict, root: Path, options_overrides: dict | None = None) -> Result:
    """Archive one item in a fresh archive under `root`; measure it against its truth."""
    from archiver import config as config_mod
    from archiver.pipeline import Archive, add
    from archiver.show import show

    config = config_mod.load()
    archive = Archive.open(root, config)
    options = archive.transcribe_options(**options_overrides) if options_overrides else None
    started = time.perf_counter()
    report = add(archive, [str(item["dir"] / "article.txt")], videos=[str(item["dir"] / "audio.ogg")], options=options)
    seconds = time.perf_counter() - started
    result = Result(item["name"], item["heldout"], item["language"], seconds=round(seconds, 1))
    if not report.ok:
        result.missed.append("; ".join(report.errors))
        return result
    article = show(archive, report.articles[0].id)
    video = show(archive, article["videos"][0]["id"])
    result.detected, result.probability = video["language"] or "", video["language_probability"] or 0.0
    result.model, result.reason = video["model"], video.get("model_reason") or ""
    hypothesis = " ".join(s["text"] for s in video["segments"])
    result.words = [w for s in video["segments"] for w in s["words"]]
    result.wer = word_error_rate(" ".join(t["text"] for t in item["sentences"]), hypothesis, item["language"])
    _compare(article["sentences"], item["sentences"], result)
    return result


def _compare(sentences: list[dict], truth: list[dict], result: Result) -> None:
    """Match the article's sentences to the truth's utterances by their text, not by index.

    The article stage splits the text its own way (an abbreviation may cut an utterance in
    two, a missed sentence end may join two), so each sentence is found in the running
    (folded) text of the utterances. An utterance's start is compared with the sentence that
    starts where it starts, its end with the one that ends where it ends; a boundary that falls
    inside one article sentence has no sentence time to compare and is counted as such.
    """
    result.sentences = len(sentences)
    result.located = sum(s["start"] is not None for s in sentences)
    stream, spans = "", []
    for t in truth:
        stream += (" " if stream else "")
        spans.append((len(stream), len(stream) + len(_fold(t["text"]))))
        stream += _fold(t["text"])
    cursor, placed = 0, []  # (first char, last char, sentence)
    for s in sentences:
        text = _fold(s["text"])
        at = stream.find(text, cursor) if text else -1
        if at < 0:
            result.missed.append(f"sentence not in the truth's text: {s['text'][:60]}")
            continue
        placed.append((at, at + len(text), s))
        cursor = at + len(text)
    for k, (first, last) in enumerate(spans):
        mine = [s for a, b, s in placed if a < last and b > first]
        if not mine or any(s["start"] is None for s in mine):
            result.missed.append(f"#{k} not located: {truth[k]['text'][:60]}")
        starting = next((s for a, _, s in placed if a == first), None)
        ending = next((s for _, b, s in placed if b == last), None)
        for edge, sentence, errors in (("start", starting, result.start_errors), ("end", ending, result.end_errors)):
            if sentence is None:
                result.unmeasured.append(f"#{k} {edge} falls inside an article sentence")
            elif sentence[edge] is not None:
                errors.append(abs(sentence[edge] - truth[k][edge]))
                result.boundaries.append({"utterance": k, "edge": edge, "truth": truth[k][edge],
                                          "ours": sentence[edge]})


def worst(r: Result, above: float = P90_TARGET) -> list[str]:
    """The boundaries off by more than `above`: truth, ours, and the words heard around the truth."""
    out = []
    for b in sorted(r.boundaries, key=lambda b: -abs(b["ours"] - b["truth"])):
        if abs(b["ours"] - b["truth"]) <= above:
            break
        near = " ".join(f"{w['word'].strip()}[{w['start']:.2f}-{w['end']:.2f}]" for w in r.words
                        if abs(w["start" if b["edge"] == "start" else "end"] - b["truth"]) <= 1.5)
        out.append(f"#{b['utterance']} {b['edge']}: truth {b['truth']:.2f}, ours {b['ours']:.2f}; heard: {near or '-'}")
    return out


def p90(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def line(r: Result) -> str:
    return (f"{r.name:<14} {'held-out' if r.heldout else 'tuning':<8} {r.language:<3} "
            f"located {r.located:>2}/{r.sentences:<2} "
            f"start med {median(r.start_errors):.3f} p90 {p90(r.start_errors):.3f}  "
            f"end med {median(r.end_errors):.3f} p90 {p90(r.end_errors):.3f}  "
            f"WER {r.wer:6.1%}  lang {r.detected or '-'} {r.probability:.2f}  {r.seconds:5.1f}s  "
            f"model {r.model} ({r.reason})")


def summary(label: str, results: list[Result]) -> tuple[str, dict]:
    sentences = sum(r.sentences for r in results)
    located = sum(r.located for r in results)
    starts = [e for r in results for e in r.start_errors]
    ends = [e for r in results for e in r.end_errors]
    figures = {"located": located / sentences if sentences else 0.0, "start_median": median(starts),
               "start_p90": p90(starts), "end_median": median(ends), "end_p90": p90(ends),
               "languages_right": sum(r.detected == r.language for r in results), "items": len(results)}
    text = (f"{label:<9} items {len(results):>2}  located {located}/{sentences} ({figures['located']:.1%})  "
            f"start med {figures['start_median']:.3f} p90 {figures['start_p90']:.3f}  "
            f"end med {figures['end_median']:.3f} p90 {figures['end_p90']:.3f}  "
            f"languages right {figures['languages_right']}/{len(results)}")
    return text, figures


def run(names: list[str] | None = None, json_out: Path | None = None) -> bool:
    chosen = items(names)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="real-speech-") as tmp:
        for item in chosen:
            results.append(archive_item(item, Path(tmp) / item["name"]))
            print(line(results[-1]), flush=True)
            for note in results[-1].missed + results[-1].unmeasured + worst(results[-1]):
                print(f"    {note}")
        baseline = []
        for item in (i for i in chosen if i["name"] in CLEAN_ENGLISH):
            baseline.append(archive_item(item, Path(tmp) / f"baseline-{item['name']}", BASELINE))
            print("baseline " + line(baseline[-1]), flush=True)

    ok = True
    print()
    overall = {}
    for label, part in (("tuning", [r for r in results if not r.heldout]),
                        ("held-out", [r for r in results if r.heldout]), ("all", results)):
        if not part:
            continue
        text, figures = summary(label, part)
        overall[label] = figures
        print(text)
    figures = overall.get("all", {})
    checks = [
        ("sentences located >= 95%", figures.get("located", 0) >= LOCATED_TARGET),
        ("median start error <= 0.1 s", figures.get("start_median", 9) <= MEDIAN_TARGET),
        ("median end error <= 0.1 s", figures.get("end_median", 9) <= MEDIAN_TARGET),
        ("p90 start error <= 0.5 s", figures.get("start_p90", 9) <= P90_TARGET),
        ("p90 end error <= 0.5 s", figures.get("end_p90", 9) <= P90_TARGET),
        ("every language right", all(r.detected == r.language for r in results)),
    ]
    for new in (r for r in results if r.name in CLEAN_ENGLISH):
        old = next((b for b in baseline if b.name == new.name), None)
        if old:
            print(f"English WER on {new.name}: {new.wer:.1%} now, {old.wer:.1%} baseline ({BASELINE})")
            checks.append((f"WER on {new.name} no worse than baseline", new.wer <= old.wer + WER_MARGIN))
    for name, passed in checks:
        print(f"{'PASS' if passed else 'MISS'} {name}")
        ok &= passed
    if json_out:
        json_out.write_text(json.dumps({"items": [r.__dict__ for r in results],
                                        "baseline": [r.__dict__ for r in baseline], "overall": overall},
                                       indent=1, default=str), encoding="utf-8")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", help="comma-separated item names (default: all)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    return 0 if run(args.items.split(",") if args.items else None, args.json) else 1


if __name__ == "__main__":
    raise SystemExit(main())
