"""The real-page corpus (tests/fixtures/real/: saved news pages and the videos each really
holds, labelled by hand) and how discovery is scored on it. tests/test_discover.py asserts
on these scores; benchmarks/real_pages.py prints them with its targets.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field

from support import FIXTURES

REAL = FIXTURES / "real"


@dataclass
class Score:
    pages: int = 0
    real: int = 0
    found: int = 0  # real videos found
    links: int = 0  # links discovery returned
    false: list[str] = field(default_factory=list)
    duplicates: int = 0
    missed: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for name in ("pages", "real", "found", "links", "duplicates"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.false += other.false
        self.missed += other.missed

    @property
    def recall(self) -> float:
        return self.found / self.real if self.real else 1.0

    @property
    def precision(self) -> float:
        return (self.links - len(self.false)) / self.links if self.links else 1.0

    @property
    def false_per_ten(self) -> float:
        return 10 * len(self.false) / self.pages if self.pages else 0.0

    def line(self, label: str) -> str:
        return (f"{label:<22} pages {self.pages:3}  found {self.found:3}/{self.real:<3} recall {self.recall:6.1%}  "
                f"precision {self.precision:6.1%}  false {len(self.false):3} ({self.false_per_ten:.1f} per 10 pages)  "
                f"duplicates {self.duplicates}")


def pages() -> list[dict]:
    return json.loads((REAL / "truth.json").read_text(encoding="utf-8"))["pages"]


def read(name: str) -> str:
    return gzip.decompress((REAL / "pages" / f"{name}.html.gz").read_bytes()).decode("utf-8", "replace")


def score(page: dict, urls: list[str]) -> Score:
    s = Score(pages=1, real=len(page["videos"]), links=len(urls))
    hits = [0] * len(page["videos"])
    for url in urls:
        which = [i for i, v in enumerate(page["videos"]) if any(m.lower() in url.lower() for m in v["match"])]
        if not which:
            s.false.append(f"{page['name']}: {url}")
        for i in which[:1]:
            hits[i] += 1
    s.found = sum(1 for h in hits if h)
    s.duplicates = sum(h - 1 for h in hits if h > 1)
    s.missed = [f"{page['name']}: {v['match'][0]} ({'; '.join(v['appears_as'])})"
                for v, h in zip(page["videos"], hits) if not h]
    return s


def discovered(page: dict, html: str) -> list[str]:
    from archiver.discover import base_for, discover_html

    return [link.url for link in discover_html(html, base_for(html, url=page["url"]))]
