"""Sound-alike matching, so that "Idlib" finds the "Iedland" or "idler" a speech engine wrote.

Two steps, because a phonetic key alone is either too strict or too loose:

1. Candidates: every distinct word of the index has a *coarse* key, Double Metaphone's
   primary code with sounds that a recognizer confuses merged into one letter
   (M/N, B/F/P/V, T/D/TH, K/G/Q, S/Z/SH). "Tanf" and "Tamp" both become TNP, "Sham" and
   "Shan" both SN. A query's keys are matched within one edit (two for long keys), which
   gives words, and the passages holding those words are the candidates. The keys live
   in a small table beside the index (`Lexicon`, one row per distinct word), not in a
   field of every passage: that would add a posting per word of every passage, a fifth
   of the indexing time, for what a lookup per distinct word answers as well.
2. Verification (in Python, on the candidate passages only): every run of one to a few
   consecutive words is compared with the query, as Double Metaphone codes and as plain
   letters (normalized Levenshtein similarity, the better of the two), so that "Jisir
   Alshir" matches "Jisr al-Shughur" although the words are cut differently. The best run
   gives the score and the time (its first word).

Double Metaphone (the C++ implementation wrapped by the `doublemetaphone` package) treats
a leading vowel as one sound ("Idlib" ATLP, "Eidlin" ATLN), where plain Metaphone keeps the
letter; that alone decides several of the seed names.
"""
from __future__ import annotations

import functools
import os
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from rapidfuzz.distance import Levenshtein

# Sounds a recognizer swaps, merged into one letter of the coarse key.
_COARSE = str.maketrans({"M": "N", "B": "P", "F": "P", "V": "P", "D": "T", "0": "T",
                         "G": "K", "Q": "K", "Z": "S", "X": "S", "C": "K", "W": "", "H": ""})
# Words never worth a key: nothing sounds like a name by sounding like "the".
STOP_WORDS = frozenset("""
a an the and or but of to in on at by for with from as is are was were be been being it its this that these those
he she they we you i his her their our your my me him them us not no so if then than there here which who whom
what when where how all any some can could will would shall should may might must do does did has have had
de la le les el los las y en un una des du et der die das und zu den dem ein eine im ist mit von
""".split())
MIN_SIMILARITY = 0.5  # below this a run of words does not sound like the query


@functools.lru_cache(maxsize=200_000)
def letters(word: str) -> str:
    if not word.isascii():
        from unidecode import unidecode  # only for words that need it

        word = unidecode(word)
    return re.sub(r"[^a-z]", "", word.lower())


@functools.lru_cache(maxsize=200_000)
def code(text_letters: str) -> str:
    """Double Metaphone primary code of some letters ("" for none)."""
    from doublemetaphone import doublemetaphone

    return doublemetaphone(text_letters)[0] if text_letters else ""


@functools.lru_cache(maxsize=200_000)
def coarse_key(word: str) -> str:
    """The indexed key of one (folded) word: "" for stop words and words without letters."""
    if word in STOP_WORDS:
        return ""
    key = code(letters(word)).translate(_COARSE)
    return re.sub(r"(.)\1+", r"\1", key)  # "RR" and "R" sound alike


def query_keys(query_words: list[str]) -> list[tuple[str, int]]:
    """(key, edit distance allowed) for each query word and for the words run together.

    Running the words together lets "al-Shughur" find "Alshir", and "Deir Ezzor" find a
    "Dairezer" written as one word.
    """
    out: dict[str, int] = {}
    parts = [w for w in query_words if letters(w)]
    spans = [[w] for w in parts] + ([parts] if len(parts) > 1 else [])
    spans += [parts[i:i + 2] for i in range(len(parts) - 1)] if len(parts) > 2 else []
    for span in spans:
        key = re.sub(r"(.)\1+", r"\1", code("".join(letters(w) for w in span)).translate(_COARSE))
        if key and (len(span) > 1 or span[0] not in STOP_WORDS):
            out[key] = min(out.get(key, 9), max_distance(key))
    return list(out.items())


def max_distance(key: str) -> int:
    return 0 if len(key) <= 2 else 1 if len(key) <= 5 else 2


class Lexicon:
    """Every distinct word of the index with its coarse key: index_dir/words.sqlite.

    Sound-alike search looks up words by key here; prefix*, fuzzy terms (word~) and "did you
    mean" look up words by spelling. Whoosh's own way (terms_within, a Levenshtein automaton
    run in Python over the term dictionary) took about 50 ms on 10k passages; a range of
    this table's primary key and rapidfuzz take a few ms at a million.

    The table must hold every word of the index, or those searches miss passages. So a
    writer adds the words of a commit *before* the commit (the table may then know a word
    that no passage has, which finds nothing, but never lacks one), together with the
    Whoosh generation that the commit makes. A table whose generation is older than the
    index's (one written by an earlier version, which added the words after the commit and
    could be killed in between) is completed from the index: in place by the next writer,
    and in memory by a search until then (`complete`).
    """

    FILE = "words.sqlite"

    def __init__(self, index_dir: Path, memory: sqlite3.Connection | None = None):
        self.path = Path(index_dir) / self.FILE
        self._memory = memory
        self._keys: list[str] | None = None
        self._stamp = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60) if self._memory is None else self._memory
        _create(db)
        return db

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        if self._memory is not None:
            yield self._memory
            return
        if not self.path.exists():
            yield None
            return
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)
        try:
            yield db
        finally:
            db.close()

    def add(self, words: Iterable[str], generation: int | None = None) -> int:
        """Remember these words (those not known yet), and that the table is complete up to
        Whoosh generation `generation`, in one transaction; returns how many words were new."""
        rows = [(w, coarse_key(w)) for w in words]
        db = self._connect()
        try:
            with db:
                before = db.total_changes
                db.executemany("INSERT OR IGNORE INTO words VALUES (?, ?)", rows)
                added = db.total_changes - before
                if generation is not None:
                    db.execute("INSERT INTO meta VALUES ('generation', ?) ON CONFLICT (key) "
                               "DO UPDATE SET value = max(value, excluded.value)", (generation,))
                return added
        finally:
            if db is not self._memory:
                db.close()

    def generation(self) -> int:
        """The Whoosh generation whose words the table holds (-1: unknown, or no table)."""
        with self._read() as db:
            if db is None:
                return -1
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            except sqlite3.OperationalError:  # a table of an earlier version, without meta
                return -1
            return int(row[0]) if row else -1

    def missing(self, words: Iterable[str]) -> list[str]:
        """The given words that the table lacks."""
        with self._read() as db:
            if db is None:
                return list(words)
            known = {w for (w,) in db.execute("SELECT word FROM words")}
        return [w for w in words if w not in known]

    def complete(self, words: Iterable[str], generation: int) -> Lexicon:
        """This table when it is complete up to `generation`; else, without writing to disk,
        an in-memory copy of it with the given words (all the index's) added."""
        if self.generation() >= generation:
            return self
        lacking = self.missing(words)
        memory = sqlite3.connect(":memory:")
        with self._read() as db:
            if db is not None:
                db.backup(memory)
        copy = Lexicon(self.path.parent, memory)
        copy.add(lacking, generation)
        return copy

    def keys(self) -> list[str]:
        """Every distinct non-empty key (cached until the table changes)."""
        if self._memory is not None:
            stamp = self._memory.total_changes
        else:
            try:
                stamp = os.stat(self.path).st_mtime_ns
            except FileNotFoundError:
                return []
        if self._keys is None or stamp != self._stamp:
            with self._read() as db:
                self._keys = [k for (k,) in db.execute("SELECT DISTINCT key FROM words WHERE key != ''")]
            self._stamp = stamp
        return self._keys

    def words_like(self, wanted: list[tuple[str, int]]) -> dict[str, int]:
        """{word: edit distance of its key} for the words whose key is near a wanted key."""
        from rapidfuzz import process

        near: dict[str, int] = {}
        keys = self.keys()
        for key, maxdist in wanted:
            if maxdist:
                for found, distance, _ in process.extract(key, keys, scorer=Levenshtein.distance,
                                                          score_cutoff=maxdist, limit=None):
                    near[found] = min(near.get(found, 9), int(distance))
            else:
                near[key] = 0
        if not near:
            return {}
        with self._read() as db:
            if db is None:
                return {}
            out: dict[str, int] = {}
            marks = ",".join("?" * len(near))
            for word, key in db.execute(f"SELECT word, key FROM words WHERE key IN ({marks})", list(near)):
                out[word] = min(out.get(word, 9), near[key])
            return out

    def starting_with(self, prefix: str, limit: int) -> list[str]:
        with self._read() as db:
            if db is None:
                return []
            return [w for (w,) in db.execute("SELECT word FROM words WHERE word >= ? AND word < ? ORDER BY word LIMIT ?",
                                             (prefix, prefix + "\U0010ffff", limit))]

    def matching(self, pattern: str, limit: int) -> list[str]:
        """Words that a wildcard pattern matches (* any letters, ? one), in order."""
        literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
        regex = re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))
        with self._read() as db:
            if db is None:
                return []
            rows = db.execute("SELECT word FROM words WHERE word >= ? AND word < ? ORDER BY word",
                              (literal, literal + "\U0010ffff"))
            out = []
            for (word,) in rows:
                if regex.fullmatch(word):
                    out.append(word)
                    if len(out) >= limit:
                        break
            return out

    def spelled_like(self, word: str, maxdist: int = 1, prefix: int = 1) -> dict[str, int]:
        """{known word: edit distance} within maxdist of `word`, sharing its first `prefix` letters."""
        with self._read() as db:
            if db is None or not word:
                return {}
            start = word[:prefix]
            if start:
                rows = db.execute("SELECT word FROM words WHERE word >= ? AND word < ?", (start, start + "\U0010ffff"))
            else:
                rows = db.execute("SELECT word FROM words")
            out = {}
            low, high = len(word) - maxdist, len(word) + maxdist
            for (known,) in rows:
                if low <= len(known) <= high:
                    d = Levenshtein.distance(word, known, score_cutoff=maxdist)
                    if d <= maxdist:
                        out[known] = d
            return out


def _create(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS words (word TEXT PRIMARY KEY, key TEXT NOT NULL) WITHOUT ROWID")
    db.execute("CREATE INDEX IF NOT EXISTS words_by_key ON words (key)")
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID")


@dataclass
class SoundMatch:
    score: float  # 0..1
    first_word: int  # index of the first matching word in the passage's whitespace words
    last_word: int


def best_match(query: str, passage_words: list[str], starts: Iterable[int] | None = None) -> SoundMatch | None:
    """The run of passage words that sounds most like the query; `starts` limits where
    a run may begin (near the words that made the passage a candidate)."""
    q_letters = "".join(letters(w) for w in query.split())
    if not q_letters:
        return None
    q_code = code(q_letters)
    n_query = len(re.findall(r"[^\W\d_]+", query))
    word_letters = [letters(w) for w in passage_words]
    best: SoundMatch | None = None
    positions = range(len(word_letters)) if starts is None else sorted(i for i in starts if 0 <= i < len(word_letters))
    for i in positions:
        if not word_letters[i]:
            continue
        run = ""
        for j in range(i, min(len(word_letters), i + n_query + 2)):
            if not word_letters[j]:
                continue
            run += word_letters[j]
            if len(run) > 2 * len(q_letters) + 2:
                break
            score = _similarity(q_letters, q_code, run)
            if best is None or score > best.score + 1e-9:
                best = SoundMatch(score, i, j)
    return best if best and best.score >= MIN_SIMILARITY else None


def _similarity(q_letters: str, q_code: str, run: str) -> float:
    by_sound = Levenshtein.normalized_similarity(q_code, code(run))
    by_letters = Levenshtein.normalized_similarity(q_letters, run)
    # The better of the two decides; the other breaks ties ("Eidlin" over "outline" for Idlib).
    return max(by_sound, by_letters) * 0.9 + min(by_sound, by_letters) * 0.1
