"""Text as people write it, on real text: sentence boundaries, main text among page chrome, and
the article language, each measured against the code before issue 10 (benchmarks/text_baseline.py)
in the same run.

- Sentences: boundary precision and recall per language on the golden rules of pysbd and
  sentencex (hard cases: abbreviations, initials, decimals, quotes, ellipses) and on real
  sentences of Universal Dependencies treebanks (tests/fixtures/real/text/SOURCES).
- Main text: token precision, recall and F1 against the human (or Readability) gold text of
  84 real pages, read as a user gives them: the saved HTML, the page saved as Markdown, and
  the page copied as plain text.
- Language: the article language of every real page, of real paragraphs and of single
  sentences; time per text; and that `archiver search` imports none of the text libraries.

    .venv/bin/python benchmarks/text.py [--quick]

Exits non-zero when the new code is worse than the baseline or below a floor.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import text_baseline as baseline  # noqa: E402

from archiver import text  # noqa: E402
from archiver.article import markdown_blocks, parse_document  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "real" / "text"
FLOORS = {  # below these the benchmark fails, whatever the baseline does
    "sentences pysbd": 0.95, "sentences sentencex": 0.72, "sentences treebanks": 0.96,
    "main text html": 0.93, "main text md": 0.82, "main text txt": 0.80,
    "language pages": 1.0, "language paragraphs": 0.99, "language sentences": 0.93,
}
failures: list[str] = []


def check(name: str, new: float, old: float | None = None) -> None:
    floor = FLOORS.get(name)
    if floor is not None and new < floor:
        failures.append(f"{name}: {new:.3f} below the floor {floor}")
    if old is not None and new < old - 0.005:
        failures.append(f"{name}: {new:.3f} worse than the baseline {old:.3f}")


# ---------------------------------------------------------------- sentences


def boundaries(pieces: list[str], text_: str) -> set[int] | None:
    """Where each piece but the last ends in text_ (None when the pieces are not text_'s own)."""
    ends, cursor = set(), 0
    for piece in pieces[:-1]:
        at = text_.find(piece.strip(), cursor)
        if at < 0:
            return None
        cursor = at + len(piece.strip())
        ends.add(cursor)
    return ends


def span_ends(text_: str, spans: list[tuple[int, int]]) -> set[int]:
    ends = set()
    for start, end in spans:
        while end > start and text_[end - 1].isspace():
            end -= 1
        ends.add(end)
    ends.discard(len(text_.rstrip()))
    return ends


def splitters(language: str):
    return {"baseline": lambda t: baseline.split_sentences(t), "new": lambda t: text.sentence_spans(t, language)}


def score_cases(cases: list[tuple[str, list[str]]], language: str) -> dict[str, tuple[int, int, int]]:
    counts = {}
    for name, split in splitters(language).items():
        tp = fp = fn = 0
        for paragraph, sentences in cases:
            gold = boundaries(sentences, paragraph)
            if gold is None:
                continue
            got = span_ends(paragraph, split(paragraph))
            tp, fp, fn = tp + len(gold & got), fp + len(got - gold), fn + len(gold - got)
        counts[name] = (tp, fp, fn)
    return counts


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def sentence_report(corpus: str, by_language: dict[str, list[tuple[str, list[str]]]]) -> None:
    totals = {"baseline": [0, 0, 0], "new": [0, 0, 0]}
    for language, cases in sorted(by_language.items()):
        counts = score_cases(cases, language)
        line = [f"sentences {corpus:<9} {language:<3} {len(cases):>4} cases"]
        for name, (tp, fp, fn) in counts.items():
            p, r, f = prf(tp, fp, fn)
            line.append(f"{name} P {p:.3f} R {r:.3f} F1 {f:.3f}")
            totals[name] = [a + b for a, b in zip(totals[name], (tp, fp, fn))]
        print("  ".join(line))
    old, new = prf(*totals["baseline"]), prf(*totals["new"])
    print(f"sentences {corpus:<9} all {sum(map(len, by_language.values())):>5} cases  "
          f"baseline P {old[0]:.3f} R {old[1]:.3f} F1 {old[2]:.3f}  new P {new[0]:.3f} R {new[1]:.3f} F1 {new[2]:.3f}")
    check(f"sentences {corpus}", new[2], old[2])


def sentences() -> None:
    golden = json.loads((CORPUS / "golden_rules.json").read_text(encoding="utf-8"))
    for source, by_language in golden.items():
        sentence_report(source, {language: [(c["text"], c["sentences"]) for c in cases]
                                 for language, cases in by_language.items()})
    treebanks = {}
    for path in sorted((CORPUS / "sentences").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        treebanks[path.stem] = [(data["joiner"].join(p), p) for p in data["paragraphs"]]
    sentence_report("treebanks", treebanks)


# ---------------------------------------------------------------- main text


def tokens(text_: str, language: str) -> Counter:
    text_ = text_.lower()
    return Counter(re.sub(r"\W", "", text_) if language in text.CJK else re.findall(r"\w+", text_))


def token_prf(gold: str, got: str, language: str) -> tuple[float, float, float]:
    g, p = tokens(gold, language), tokens(got, language)
    tp = sum((g & p).values())
    return prf(tp, sum(p.values()) - tp, sum(g.values()) - tp)


def page_file(name: str, kind: str) -> str:
    return gzip.decompress((CORPUS / "pages" / f"{name}.{kind}.gz").read_bytes()).decode("utf-8", "replace")


def baseline_text(content: str, kind: str) -> str:
    if kind == "html":
        return "\n".join(baseline.html_paragraphs(content))
    _, blocks = markdown_blocks(content) if kind == "md" else baseline.text_blocks(content)
    return "\n".join(baseline.body_paragraphs(blocks)[0])


def new_text(content: str, kind: str) -> str:
    return parse_document(content, kind, "bench", "bench").text


def main_text(pages: dict, quick: bool) -> None:
    for kind in ("html", "md", "txt"):
        rows = {"baseline": [], "new": []}
        seconds = {"baseline": 0.0, "new": 0.0}
        for name, page in pages.items():
            content = page_file(name, kind)
            if not content.strip():
                continue  # a page whose body is hidden without JavaScript copies as nothing
            for variant, read in (("baseline", baseline_text), ("new", new_text)):
                started = time.perf_counter()
                got = read(content, kind)
                seconds[variant] += time.perf_counter() - started
                rows[variant].append(token_prf(page["gold"], got, page["language"]))
        line = [f"main text {kind:<4} {len(rows['new'])} pages"]
        means = {}
        for variant, values in rows.items():
            means[variant] = [sum(v[i] for v in values) / len(values) for i in range(3)]
            p, r, f = means[variant]
            line.append(f"{variant} P {p:.3f} R {r:.3f} F1 {f:.3f} ({1000 * seconds[variant] / len(values):.0f} ms/page)")
        print("  ".join(line))
        check(f"main text {kind}", means["new"][2], means["baseline"][2])


# ---------------------------------------------------------------- language


def language(pages: dict) -> None:
    right, wrong = 0, []
    for name, page in pages.items():
        article = parse_document(page_file(name, "html"), "html", "bench", "bench")
        if article.language == page["language"]:
            right += 1
        else:
            wrong.append(f"{name}: {article.language} (is {page['language']})")
    print(f"language  pages       {right}/{len(pages)} right" + (f"; wrong: {', '.join(wrong)}" if wrong else ""))
    check("language pages", right / len(pages))
    for unit in ("paragraphs", "sentences"):
        right = total = 0
        per_language = []
        started = time.perf_counter()
        for path in sorted((CORPUS / "sentences").glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            items = [data["joiner"].join(p) for p in data["paragraphs"]] if unit == "paragraphs" else \
                [s for p in data["paragraphs"] for s in p]
            ok = sum(text.detect_language(item)[0] == path.stem for item in items)
            per_language.append(f"{path.stem} {ok / len(items):.2f}")
            right, total = right + ok, total + len(items)
        ms = 1000 * (time.perf_counter() - started) / total
        print(f"language  {unit:<11} {right / total:.3f} of {total} ({', '.join(per_language)}; {ms:.2f} ms each)")
        check(f"language {unit}", right / total)
    probe = ("import json, sys, time; t = time.perf_counter(); import archiver.cli, archiver.search; "
             "print(json.dumps([time.perf_counter() - t, [m for m in ('py3langid', 'pysbd', 'sentencex', 'justext', "
             "'trafilatura') if m in sys.modules]]))")
    seconds, loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                                check=True, cwd=ROOT).stdout)
    print(f"imports   archiver.cli + archiver.search: {seconds:.2f} s, text libraries loaded: {loaded or 'none'}")
    if loaded:
        failures.append(f"`archiver search` imports {loaded}")
    load = ("import time; t = time.perf_counter(); from archiver import text; text.detect_language('warm up'); "
            "a = time.perf_counter(); text.sentence_spans('A b. C d.', 'en'); print(a - t, time.perf_counter() - a)")
    lid, sbd = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, check=True,
                              cwd=ROOT).stdout.split()
    print(f"imports   first language detection {float(lid):.2f} s, first sentence split {float(sbd):.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a third of the pages")
    args = parser.parse_args()
    pages = json.loads((CORPUS / "pages" / "pages.json").read_text(encoding="utf-8"))
    if args.quick:
        pages = dict(list(pages.items())[::3])
    sentences()
    main_text(pages, args.quick)
    language(pages)
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
