"""The align stage: every article sentence -> (video, start, end, score), or "not spoken".

Speech engines mishear names and a narration may add an intro, skip a paragraph or swap
two, so this is not one global edit script. It works locally:

1. locate each paragraph in each video by voting on shared word pairs (a diagonal of the
   article x transcript matrix), and keep the best video and window;
2. inside the window, match tokens exactly with an LCS at C speed (rapidfuzz), then pair
   the leftover tokens in each gap by fuzzy similarity (misheard names);
3. the strongest paragraphs claim their transcript words first, so a skipped paragraph
   cannot borrow a neighbour's speech;
4. sentence times come from the first and last heard words (estimated from neighbours
   when those were misheard), then snap to a speech boundary found by voice activity
   detection: the one with the longest silence beside it near the word time;
5. what no sentence covers is reported as extra speech (intros, ad-libs).
"""
from __future__ import annotations

import bisect
import functools
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from .models import Alignment, Article, ExtraSpeech, SentenceAlignment, Transcript
from .normalize import base_language, tokens

FUZZY_MIN = 62  # rapidfuzz ratio above which two differently spelled tokens count as heard
SNAP_WINDOW = 0.7  # seconds around a word time to look for a speech boundary
PAUSE = 0.3  # seconds between two heard words that no misheard word runs across
LONE_GAP = 2.0  # seconds between two neighbouring words of a sentence that part its edge word from it
MAX_GAP_CELLS = 4000  # bound the Python DP on one gap; beyond it, leave the gap unmatched


def video_end(transcript: Transcript) -> float:
    """The latest moment an alignment may name: the duration, else the last word's end."""
    if math.isfinite(transcript.duration) and transcript.duration > 0:
        return transcript.duration
    return max([w.end for w in transcript.words if math.isfinite(w.end)] + [0.0])


def within(t: float, limit: float, otherwise: float) -> float:
    """t inside [0, limit]; `otherwise` when t is no number (NaN, inf)."""
    return min(max(t, 0.0), limit) if math.isfinite(t) else otherwise


@dataclass
class TranscriptTokens:
    """A transcript's tokens with their times, held within the video: a transcript made
    elsewhere can have times that are negative, NaN, infinite or past the end."""

    video_id: str
    transcript: Transcript
    limit: float = 0.0  # the video's end
    timed: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, word) of each word, held within
    speech: list[tuple[float, float]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    pairs: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    claimed: list[bool] = field(default_factory=list)
    words: list = field(default_factory=list)  # transcript.words, and when each starts (speaker_of)
    word_starts: list[float] = field(default_factory=list)

    @classmethod
    def build(cls, video_id: str, transcript: Transcript, lang: str) -> TranscriptTokens:
        tt = cls(video_id, transcript, video_end(transcript))
        tt.speech = sorted((within(a, tt.limit, 0.0), within(b, tt.limit, 0.0)) for a, b in transcript.speech
                           if math.isfinite(a) and math.isfinite(b) and a <= b)
        previous = 0.0
        for segment in transcript.segments:
            for n, word in enumerate(segment.words):
                start = within(word.start, tt.limit, previous)
                end = previous = max(start, within(word.end, tt.limit, start))
                tt.timed.append((start, end, word.word))
                pieces = tokens(word.word, lang)
                start, end = word_time(sum(map(len, pieces)), start, end, n == 0, n == len(segment.words) - 1,
                                       tt.speech)
                span = (end - start) / max(1, len(pieces))
                for k, piece in enumerate(pieces):  # a word spelled out ("2,300") shares its time
                    tt.tokens.append(piece)
                    tt.starts.append(start + k * span)
                    tt.ends.append(start + (k + 1) * span)
        for j in range(len(tt.tokens) - 1):
            tt.pairs[(tt.tokens[j], tt.tokens[j + 1])].append(j)
        tt.claimed = [False] * len(tt.tokens)
        tt.words = transcript.words
        tt.word_starts = [start for start, _, _ in tt.timed]
        return tt

    @functools.cached_property
    def seconds_per_letter(self) -> float:
        """How fast this recording speaks: the median time of a letter over its tokens."""
        rates = sorted((e - s) / len(t) for t, s, e in zip(self.tokens, self.starts, self.ends) if t)
        return min(0.12, max(0.04, rates[len(rates) // 2])) if rates else 0.07

    def moment(self, t: float) -> float:
        """t as alignments store it: to the millisecond, never past the end."""
        return min(round(t, 3), self.limit)


def longest(letters: int) -> float:
    """The longest a word of this many letters lasts, said slowly at the end of a sentence."""
    return 0.3 + 0.1 * letters


def word_time(letters: int, start: float, end: float, opens: bool, closes: bool,
              speech: list[tuple[float, float]]) -> tuple[float, float]:
    """A word's time, no longer than its letters allow (`longest`; a number counts the letters
    of its spoken words).

    Whisper stretches the first word of a segment back into the silence before it ("The"
    0.00-1.10 over a breath) and the last one into the silence after ("is." 18.38-19.70 for
    0.3 s of speech); a sentence edge placed there is off by a second. A word that long is
    first cut to the speech the VAD hears inside it, then, at a segment's edge, to its length.
    """
    most = longest(letters)
    if end - start <= most:
        return start, end
    k, inside = max(0, bisect.bisect_left(speech, (start,)) - 1), []
    while k < len(speech) and speech[k][0] < end:
        if speech[k][1] > start:
            inside.append((max(speech[k][0], start), min(speech[k][1], end)))
        k += 1
    if inside:
        start, end = inside[0][0], inside[-1][1]
    if end - start > most and closes and not opens:
        end = start + most
    elif end - start > most and opens and not closes:
        start = end - most
    return start, end


@dataclass
class Match:
    article_pos: int  # index into the article's token list
    transcript_pos: int
    similarity: float  # 1.0 exact, less for a fuzzy pair


@dataclass
class ArticleTokens:
    tokens: list[str]
    sentence_of: list[int]  # token -> sentence index
    sentence_spans: list[tuple[int, int]]  # sentence -> [first, last+1) token range
    units: list[tuple[int, int]]  # token ranges located as a whole: paragraphs, short ones merged


def article_tokens(article: Article, lang: str) -> ArticleTokens:
    toks, sentence_of, sentence_spans = [], [], []
    paragraph_spans: dict[int, list[int]] = {}
    for sentence in article.sentences:
        first = len(toks)
        for word in sentence.text.split():
            for piece in tokens(word, lang):
                toks.append(piece)
                sentence_of.append(sentence.index)
        sentence_spans.append((first, len(toks)))
        span = paragraph_spans.setdefault(sentence.paragraph, [first, len(toks)])
        span[1] = len(toks)
    return ArticleTokens(toks, sentence_of, sentence_spans, location_units(list(paragraph_spans.values())))


def location_units(paragraphs: list[list[int]], min_tokens: int = 8) -> list[tuple[int, int]]:
    """Paragraphs merged with their followers until long enough to locate by word pairs:
    a one-line paragraph ("Adiós,") has no pair to vote with on its own."""
    units: list[list[int]] = []
    for first, last in paragraphs:
        if units and units[-1][1] - units[-1][0] < min_tokens:
            units[-1][1] = last
        else:
            units.append([first, last])
    if len(units) > 1 and units[-1][1] - units[-1][0] < min_tokens:
        short = units.pop()  # (units[-2][1] = units.pop()[1] pops first, then indexes the shorter list)
        units[-1][1] = short[1]
    return [tuple(u) for u in units]


def weight(token: str) -> float:
    """Short words ("a", "of", "the") say little about where a sentence is: weigh them less."""
    return min(1.0, 0.2 + len(token) * 0.16)


# ---------------------------------------------------------------- 1. locate


def locate(span: tuple[int, int], at: ArticleTokens, tt: TranscriptTokens) -> tuple[int, int, float]:
    """The transcript window [lo, hi) where article tokens span[0]:span[1] are most likely spoken,
    and the share of their word pairs found on the winning diagonal."""
    first, last = span
    diagonals: list[int] = []
    for i in range(first, last - 1):
        positions = tt.pairs.get((at.tokens[i], at.tokens[i + 1]), ())
        if len(positions) <= 8:  # a pair said everywhere ("of the") votes for nothing
            diagonals.extend(j - (i - first) for j in positions if not tt.claimed[j])
    if not diagonals:
        return 0, 0, 0.0
    diagonals.sort()
    length = last - first
    width = max(6, int(0.15 * length))
    best, best_lo, best_hi, lo = 0, 0, 0, 0
    for hi in range(len(diagonals)):
        while diagonals[hi] - diagonals[lo] > width:
            lo += 1
        if hi - lo + 1 > best:
            best, best_lo, best_hi = hi - lo + 1, lo, hi
    slack = 4 + int(0.25 * length)
    window_lo = max(0, diagonals[best_lo] - slack)
    window_hi = min(len(tt.tokens), diagonals[best_hi] + length + slack)
    return window_lo, window_hi, best / max(1, length - 1)


# ---------------------------------------------------------------- 2. match inside a window


def match_window(first: int, last: int, lo: int, hi: int, at: ArticleTokens, tt: TranscriptTokens) -> list[Match]:
    source = at.tokens[first:last]
    target = tt.tokens[lo:hi]
    matches: list[Match] = []
    prev_i, prev_j = 0, 0
    for op in Indel.opcodes(source, target):
        if op.tag != "equal":
            continue
        matches.extend(fuzzy_gap(source, target, prev_i, op.src_start, prev_j, op.dest_start, first, lo))
        for k in range(op.src_end - op.src_start):
            matches.append(Match(first + op.src_start + k, lo + op.dest_start + k, 1.0))
        prev_i, prev_j = op.src_end, op.dest_end
    matches.extend(fuzzy_gap(source, target, prev_i, len(source), prev_j, len(target), first, lo))
    return drop_strays(rescue_content_words(matches, first, last, lo, hi, at, tt))


def rescue_content_words(matches: list[Match], first: int, last: int, lo: int, hi: int,
                         at: ArticleTokens, tt: TranscriptTokens) -> list[Match]:
    """An exact match of a word of five letters or more that the LCS passed over for short words
    wins over them. Against "this is a full communication channel, the style in the west",
    the LCS of "however due to the slow communication channels styles in the west" paired the
    article's first "the" with the later one and so lost "communication", and the sentence
    start with it: here the match of "communication" replaces the one of "the" it crosses."""
    matched_article = {m.article_pos for m in matches}
    matched_transcript = {m.transcript_pos for m in matches}
    where: dict[str, list[int]] = defaultdict(list)
    for j in range(lo, hi):
        if j not in matched_transcript:
            where[tt.tokens[j]].append(j)
    for i in range(first, last):
        if i in matched_article or len(at.tokens[i]) < 5:
            continue
        for j in where.get(at.tokens[i], ()):
            crossing = [m for m in matches if (m.article_pos < i) != (m.transcript_pos < j)]
            if len(crossing) <= 2 and all(len(at.tokens[m.article_pos]) <= 3 for m in crossing):
                matches = sorted([m for m in matches if m not in crossing] + [Match(i, j, 1.0)],
                                 key=lambda m: m.article_pos)
                matched_transcript.add(j)
                break
    return matches


def fuzzy_gap(source: list[str], target: list[str], i0: int, i1: int, j0: int, j1: int,
              first: int, lo: int) -> list[Match]:
    """Pair the tokens of one gap between exact matches by similarity (an order-keeping DP)."""
    n, m = i1 - i0, j1 - j0
    if n == 0 or m == 0 or n * m > MAX_GAP_CELLS:
        return []
    sim = process.cdist(source[i0:i1], target[j0:j1], scorer=fuzz.ratio).tolist()  # at C speed
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for a in range(n - 1, -1, -1):
        for b in range(m - 1, -1, -1):
            take = sim[a][b] / 100 if sim[a][b] >= FUZZY_MIN else -1.0
            best[a][b] = max(best[a + 1][b], best[a][b + 1], best[a + 1][b + 1] + take if take > 0 else -1.0)
    out, a, b = [], 0, 0
    while a < n and b < m:
        s = sim[a][b]
        if s >= FUZZY_MIN and best[a][b] == best[a + 1][b + 1] + s / 100:
            out.append(Match(first + i0 + a, lo + j0 + b, s / 100))
            a, b = a + 1, b + 1
        elif best[a][b] == best[a + 1][b]:
            a += 1
        else:
            b += 1
    return out


def drop_strays(matches: list[Match]) -> list[Match]:
    """Drop matches far off the local diagonal: a "the" that the LCS borrowed from the window's edge."""
    if len(matches) < 3:
        return matches
    diagonals = [m.transcript_pos - m.article_pos for m in matches]
    kept = []
    for k, match in enumerate(matches):
        around = sorted(diagonals[max(0, k - 3):k] + diagonals[k + 1:k + 4])
        median = around[len(around) // 2]
        if abs(diagonals[k] - median) <= 6:
            kept.append(match)
    return kept


# ---------------------------------------------------------------- 3. sentences and times


def sentence_score(first: int, last: int, matched: dict[int, Match], at: ArticleTokens) -> float:
    total = sum(weight(t) for t in at.tokens[first:last])
    heard = sum(weight(at.tokens[i]) * matched[i].similarity for i in range(first, last) if i in matched)
    return heard / total if total else 0.0


def estimate_start(first: int, last: int, matched: dict[int, Match], at: ArticleTokens, tt: TranscriptTokens,
                   order: list[int]) -> float:
    """Time of the sentence's first token: from the first heard token, stepped back over as many
    transcript tokens as article tokens were missed (misheard words) while they run on without a
    pause; what is still missed (words nobody transcribed) is allowed its letters' time at the
    transcript's own speaking rate, no further back than the silence before, nor further than
    the missed words could last (a misheard word stretched over a pause does not drag it back)."""
    i = next(i for i in range(first, last) if i in matched)
    j = matched[i].transcript_pos
    if i == first:
        return tt.starts[j]
    k = bisect.bisect_left(order, i)
    floor = tt.ends[matched[order[k - 1]].transcript_pos] if k > 0 else 0.0
    back = j
    while i - first > j - back and back > 0 and tt.ends[back - 1] > floor and tt.starts[back] - tt.ends[back - 1] <= PAUSE:
        back -= 1
    unaccounted = at.tokens[first:first + (i - first) - (j - back)]
    before = max(floor, tt.ends[back - 1] if back > 0 else 0.0, tt.starts[j] - _lasting(at.tokens[first:i]))
    return max(before, tt.starts[back] - tt.seconds_per_letter * sum(map(len, unaccounted)))


def estimate_end(first: int, last: int, matched: dict[int, Match], at: ArticleTokens, tt: TranscriptTokens,
                 order: list[int]) -> float:
    """Time of the sentence's last token: estimate_start's rule, forwards."""
    i = next(i for i in range(last - 1, first - 1, -1) if i in matched)
    j = matched[i].transcript_pos
    if i == last - 1:
        return tt.ends[j]
    k = bisect.bisect_right(order, i)
    ceiling = tt.starts[matched[order[k]].transcript_pos] if k < len(order) else tt.limit
    forward, end_token = j, len(tt.tokens) - 1
    while last - 1 - i > forward - j and forward < end_token and tt.starts[forward + 1] < ceiling \
            and tt.starts[forward + 1] - tt.ends[forward] <= PAUSE:
        forward += 1
    unaccounted = at.tokens[i + 1 + (forward - j):last]
    after = min(ceiling, tt.starts[forward + 1] if forward < end_token else tt.limit,
                tt.ends[j] + _lasting(at.tokens[i + 1:last]))
    return min(after, tt.ends[forward] + tt.seconds_per_letter * sum(map(len, unaccounted)))


def without_lone_edges(first: int, last: int, matched: dict[int, Match], tt: TranscriptTokens) -> dict[int, Match]:
    """`matched` less a sentence's first (or last) heard word when a silence of LONE_GAP parts it
    from the next heard word although the article has them (nearly) side by side: "il" paired
    with an "il" heard seconds before, in the pause after the sentence before."""
    heard = [i for i in range(first, last) if i in matched]

    def apart(a: int, b: int) -> bool:  # side by side in the article, a silence between them in the speech
        ja, jb = matched[a].transcript_pos, matched[b].transcript_pos
        return b - a <= 2 and any(tt.starts[k + 1] - tt.ends[k] > LONE_GAP for k in range(ja, jb))

    lone = set()
    if len(heard) >= 3 and apart(heard[0], heard[1]):
        lone.add(heard[0])
    if len(heard) >= 3 and apart(heard[-2], heard[-1]):
        lone.add(heard[-1])
    return {i: m for i, m in matched.items() if i not in lone} if lone else matched


def _lasting(words: list[str]) -> float:
    return sum(longest(len(w)) for w in words)


def snap(t: float, speech: list[tuple[float, float]], boundary: str) -> float:
    """Move t to the nearby speech start (or end) with the longest silence beside it."""
    best, best_silence = t, -1.0
    for k, (start, end) in enumerate(speech):
        edge = start if boundary == "start" else end
        if abs(edge - t) > SNAP_WINDOW:
            continue
        if boundary == "start":
            silence = start - (speech[k - 1][1] if k > 0 else 0.0)
        else:
            silence = (speech[k + 1][0] if k + 1 < len(speech) else end + 10.0) - end
        silence -= 0.3 * abs(edge - t)  # of two equal silences, the nearer one
        if silence > best_silence:
            best, best_silence = edge, silence
    return best


# ---------------------------------------------------------------- the whole article


def align(article: Article, transcripts: dict[str, Transcript], threshold: float = 0.45,
          snap_to_speech: bool = True) -> list[Alignment]:
    """Align an article with every video it links; one Alignment per video."""
    started = time.perf_counter()
    lang = base_language(article.language or next((t.language for t in transcripts.values()), "en"))
    at = article_tokens(article, lang)
    videos = {vid: TranscriptTokens.build(vid, t, lang) for vid, t in transcripts.items()}
    found: dict[int, SentenceAlignment] = {}

    def keep(vid: str, matches: list[Match], sentences: set[int]) -> None:
        tt = videos[vid]
        matched = {m.article_pos: m for m in matches}
        for s in sentences:
            first, last = at.sentence_spans[s]
            score = sentence_score(first, last, matched, at)
            if score < threshold or not any(i in matched for i in range(first, last)):
                continue
            mine = without_lone_edges(first, last, matched, tt)
            start = estimate_start(first, last, mine, at, tt, sorted(mine))
            end = estimate_end(first, last, mine, at, tt, sorted(mine))
            if snap_to_speech and tt.speech:
                start, end = snap(start, tt.speech, "start"), snap(end, tt.speech, "end")
            found[s] = SentenceAlignment(s, vid, tt.moment(start), tt.moment(max(end, start)), round(score, 3),
                                         speaker_of(tt, start, end))
            heard = [mine[i].transcript_pos for i in range(first, last) if i in mine]
            for j in range(min(heard), max(heard) + 1):
                tt.claimed[j] = True

    # 1-2. every paragraph (short ones merged) in every video; the most certain claim their words first
    candidates = []
    for u, span in enumerate(at.units):
        for vid, tt in videos.items():
            lo, hi, confidence = locate(span, at, tt)
            if hi > lo:
                candidates.append((confidence, u, vid, lo, hi))
    done: set[int] = set()
    for _, u, vid, lo, hi in sorted(candidates, key=lambda c: -c[0]):
        if u in done:
            continue
        first, last = at.units[u]
        matches = [m for m in match_window(first, last, lo, hi, at, videos[vid]) if not videos[vid].claimed[m.transcript_pos]]
        if len(matches) >= 2:
            done.add(u)
            keep(vid, matches, set(at.sentence_of[first:last]))

    # 3. a sentence its paragraph did not place (a paragraph split over two videos): on its own
    for s, (first, last) in enumerate(at.sentence_spans):
        if s in found or last - first < 2:
            continue
        best: tuple[float, str, list[Match]] | None = None
        for vid, tt in videos.items():
            lo, hi, _ = locate((first, last), at, tt)
            if hi > lo:
                matches = [m for m in match_window(first, last, lo, hi, at, tt) if not tt.claimed[m.transcript_pos]]
                score = sentence_score(first, last, {m.article_pos: m for m in matches}, at)
                if best is None or score > best[0]:
                    best = (score, vid, matches)
        if best and best[0] >= threshold:
            keep(best[1], best[2], {s})

    seconds = round(time.perf_counter() - started, 4)
    alignments = []
    for vid in videos:
        sentences = sorted((a for a in found.values() if a.video_id == vid), key=lambda a: a.index)
        alignments.append(Alignment(article.id, vid, sentences, extra_speech(videos[vid], sentences), seconds))
    return alignments


def speaker_of(tt: TranscriptTokens, start: float, end: float) -> str | None:
    """Who says most of start..end (by the words' speakers; None when not diarized)."""
    words = tt.words
    if not words or not words[0].speaker:
        return None
    talk: Counter[str] = Counter()
    for w in words[bisect.bisect_left(tt.word_starts, start - 1.0):bisect.bisect_right(tt.word_starts, end)]:
        if w.speaker and start <= (w.start + w.end) / 2 <= end:
            talk[w.speaker] += w.end - w.start
    return talk.most_common(1)[0][0] if talk else None


def extra_speech(tt: TranscriptTokens, sentences: list[SentenceAlignment], min_words: int = 3) -> list[ExtraSpeech]:
    """Runs of words that no located sentence covers."""
    spans = sorted((s.start, s.end) for s in sentences)
    starts = [s for s, _ in spans]

    def covered(t: float) -> bool:
        k = bisect.bisect_right(starts, t) - 1
        return k >= 0 and t <= spans[k][1] + 0.05

    runs: list[list] = []
    current: list = []
    for word in tt.timed:
        start, end, _ = word
        if covered((start + end) / 2):
            if current:
                runs.append(current)
            current = []
        else:
            current.append(word)
    if current:
        runs.append(current)
    return [ExtraSpeech(tt.video_id, tt.moment(min(s for s, _, _ in run)), tt.moment(max(e for _, e, _ in run)),
                        "".join(w for _, _, w in run).strip())  # times out of order: the run's earliest and latest
            for run in runs if len(run) >= min_words]


def every_sentence(article: Article, alignments: list[Alignment]) -> list[SentenceAlignment]:
    """Every article sentence, in order, with its location or None (not spoken)."""
    by_index = {s.index: s for a in alignments for s in a.sentences}
    return [by_index.get(s.index) or SentenceAlignment(s.index, None, None, None, 0.0) for s in article.sentences]
