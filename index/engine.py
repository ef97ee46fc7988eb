"""Whoosh, tuned for many short passages: a codec and a writer (ranking.py scores).

Whoosh does its work per posting and per term in Python, so what it costs follows from how
many Python calls each one goes through. Measured with benchmarks/search.py on 2 shared
cores: the stock SegmentWriter with the original schema wrote about 1,700 passages per
CPU-second; this writer about 8,000 with a field more (word pairs), so two worker
processes index about 14,000 passages per second when each has a core.

- Writing: `FastSegmentWriter` inverts documents in memory ({term: doc numbers}) instead
  of making a tuple per posting, sorting them all and writing them one call at a time;
  field lengths stay in memory (`ArchivePerDocWriter`) where the stock writer read them
  back from disk with a seek per posting.
- Small posting lists (most word pairs) are kept inside the term dictionary
  (INLINE_LIMIT; `InliningPostingsWriter` fixes the stock inline path) rather than written
  as a pickled, compressed block each.
- Block headers bound the scores of their postings tightly (`_block_lengths`, `_frontier`),
  so that a top-k search skips the blocks that cannot make it (ranking.py).
- Two processes: `build_parallel` writes one segment per forked worker, nothing merged.
- Reading: lengths are read once per field (`ArchivePerDocReader`), where the stock scorer
  read each length from disk; `SkippingLeafMatcher` skips inside a block by binary search
  and decodes ids with itertools.accumulate.

What still dominates, per passage: about half the time goes to adding postings (finding
the words and their pairs, one dict operation per distinct term), half to the commit,
mostly Whoosh writing each distinct term (about 10 us each; three terms in four are word
pairs).
"""
from __future__ import annotations

import pickle
import struct
import zlib
from array import array
from bisect import bisect_left, bisect_right
from itertools import accumulate

from whoosh.codec.whoosh3 import (LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3Codec, W3LeafMatcher, W3PerDocReader,
                                  W3PerDocWriter, W3PostingsWriter, W3TermInfo, _lenfield)
from whoosh.matching import ReadTooFar
from whoosh.system import pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

INLINE_LIMIT = 8  # posting lists this short live in the term dictionary, not in blocks
_ONES_BLOCK = (1.0,) * 1024
_LENGTHS = [byte_to_length(b) for b in range(256)]
_INT = struct.Struct("!i")  # a block's size, as W3PostingsWriter writes it (negative: the last block)


class ArchivePerDocReader(W3PerDocReader):
    """Field lengths read once per field into memory."""

    def _length_bytes(self, fieldname: str) -> bytes:
        cache = self.__dict__.setdefault("_length_cache", {})
        data = cache.get(fieldname)
        if data is None:
            data = b""
            lenfield = _lenfield(fieldname)
            if self.has_column(lenfield):
                colfile, offset, length = self._get_column_file(lenfield)
                data = bytes(colfile.get(offset, length))
                colfile.close()
            cache[fieldname] = data
        return data

    def doc_field_length(self, docnum, fieldname, default=0):
        data = self._length_bytes(fieldname)
        if docnum < len(data) and data[docnum]:
            return _LENGTHS[data[docnum]]
        return default

    def field_lengths(self, fieldname: str) -> bytes:
        """The length byte of every document (see whoosh.util.numeric.length_to_byte)."""
        return self._length_bytes(fieldname)


class InliningPostingsWriter(W3PostingsWriter):
    """W3PostingsWriter with two changes: posting lists shorter than INLINE_LIMIT go into the
    term dictionary, and a block's header may end with its frontier (see _frontier), after
    the six fields Whoosh reads."""

    def _new_block(self):
        super()._new_block()
        self._frontier = ()

    def _write_block(self, last=False):
        # W3PostingsWriter._write_block, but for the header's seventh field on.
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        data = pickle.dumps((self._mini_ids(), self._mini_weights(), self._mini_values()), 2)
        if self._compression:
            data = zlib.compress(data, self._compression)
        header = (len(self._ids), self._ids[-1], self._maxweight, self._compression,
                  length_to_byte(self._minlength), length_to_byte(self._maxlength)) + self._frontier
        info = pickle.dumps(header, 2)
        self._postfile.write_int(-(len(info) + len(data)) if last else len(info) + len(data))
        self._postfile.write(info)
        self._postfile.write(data)
        self._blockcount += 1
        self._new_block()

    def finish_postings(self):
        # W3PostingsWriter calls a `set_inline` that W3TermInfo lacks (it has `set_inlined`);
        # with Whoosh's default inlinelimit=1 that branch never runs, so nobody noticed.
        if not self.written() and len(self) < self._inlinelimit:
            terminfo = self._terminfo
            terminfo.add_block(self)
            terminfo.set_inlined(self._ids, self._weights, self._values)
            self._terminfo = None
            return terminfo
        return super().finish_postings()


class SkippingLeafMatcher(W3LeafMatcher):
    """skip_to by binary search inside a block, where Whoosh steps one posting at a time
    (three method calls each): intersecting a rare term with a common one ("forecasters
    in" AND "in the") spent most of its time there. Reads block headers that carry a
    frontier (InliningPostingsWriter), which W3LeafMatcher would refuse."""

    def _goto(self, position):
        # W3LeafMatcher._goto, taking the first six fields of the header.
        postfile = self._postfile
        self._data = self._ids = self._weights = self._values = None
        self._i = 0
        postfile.seek(position)
        length = postfile.read_int()
        if length < 0:
            self._lastblock = True
            length = -length
        self._nextoffset = position + _INT.size + length
        info = postfile.read_pickle()
        self._dataoffset = postfile.tell()
        self._blocklength, self._maxid, self._maxweight, self._compression, mnlen, mxlen = info[:6]
        self._minlength = byte_to_length(mnlen)
        self._maxlength = byte_to_length(mxlen)

    def skip_to(self, targetid):
        if not self.is_active():
            raise ReadTooFar
        if self._ids is None:
            self._read_ids()
        if targetid <= self._ids[self._i]:
            return
        if targetid > self._maxid:
            self._skip_to_block(lambda: targetid > self._maxid)
            if not self.is_active():
                return
            if self._ids is None:
                self._read_ids()
        self._i = bisect_left(self._ids, targetid, self._i)

    def _read_ids(self):
        # Whoosh decodes the delta-coded ids with a Python generator; accumulate is the same in C.
        if self._data is None:
            self._read_data()
        ids = self._data[0]
        self._ids = ids if self._byteids else tuple(accumulate(ids))

    def _read_weights(self):
        if self._data is None:
            self._read_data()
        weights = self._data[1]
        if weights is None:
            self._weights = _ONES_BLOCK[:self._blocklength] if self._blocklength <= 1024 else (1.0,) * self._blocklength
        elif isinstance(weights, float):
            self._weights = (weights,) * self._blocklength
        else:
            self._weights = weights


class ArchiveCodec(W3Codec):
    def __init__(self, blocklimit=128, compression=3, inlinelimit=INLINE_LIMIT):
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return SkippingLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)

    def postings_writer(self, dbfile, byteids=False):
        return InliningPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                      compression=self._compression, inlinelimit=self._inlinelimit)

    def per_document_reader(self, storage, segment):
        return ArchivePerDocReader(storage, segment)

    def per_document_writer(self, storage, segment):
        return ArchivePerDocWriter(self, storage, segment)


class ArchivePerDocWriter(W3PerDocWriter):
    """Keeps field lengths in memory (one array per field, indexed by document number)
    and writes each length column in one piece when the segment closes, instead of one
    column write per document and field."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self.lengths: dict[str, array] = {}

    def set_length(self, fieldname: str, docnum: int, length: int) -> None:
        lengths = self.lengths.get(fieldname)
        if lengths is None:
            lengths = self.lengths[fieldname] = array("I")
        if len(lengths) <= docnum:
            lengths.extend([0] * (docnum + 1 - len(lengths)))
        lengths[docnum] = length
        self._fieldlengths[fieldname] += length

    def add_field(self, fieldname, fieldobj, value, length):
        # The general path (documents merged in from other segments).
        if value is not None:
            self._storedfields[fieldname] = value
        if length:
            self.set_length(fieldname, self._docnum, length)

    def close(self):
        for fieldname, lengths in self.lengths.items():
            lenfield = _lenfield(fieldname)
            self._create_column(lenfield, LENGTHS_COLUMN)
            column = self._get_column(lenfield)
            column._dbfile.write(bytes(_length_byte(n) for n in lengths))
            column._count = len(lengths)
        super().close()


_LENGTH_BYTES = [length_to_byte(n) for n in range(4096)]


def _length_byte(n: int) -> int:
    return _LENGTH_BYTES[n] if n < 4096 else length_to_byte(n)


class FastSegmentWriter(SegmentWriter):
    """A SegmentWriter that inverts documents in memory instead of sorting postings.

    Whoosh's SegmentWriter makes a tuple per posting, sorts them all at commit (spilling
    sorted runs to disk and merging them) and then writes them one method call at a time.
    Here each field keeps {term: [doc numbers]} (a frequency above 1 is stored as
    ~docnum followed by the frequency), postings arrive already in document order, and at
    commit only the terms are sorted and each term's postings are written a block at a
    time. Memory: about 8 bytes per posting plus some 150 per distinct term, a few GB for
    a million passages in one writer (ParallelWriter splits a big build between processes).
    """

    def __init__(self, ix, **kwargs):
        kwargs.setdefault("codec", ArchiveCodec())
        kwargs.setdefault("compound", False)
        super().__init__(ix, **kwargs)
        self._inverted: dict[str, dict] = {}
        self.written_words: list[str] = []  # distinct terms of the text field, after commit
        self._plan = [(name, field, field.indexed, field.scorable, field.stored, _kind(field))
                      for name, field in sorted(self.schema.items())]
        self._kinds = {name: kind for name, _, _, _, _, kind in self._plan}

    def add_document(self, **fields):
        self._check_state()
        perdoc = self.perdocwriter
        docnum = self.docnum
        inverted = self._inverted
        perdoc.start_doc(docnum)
        stored = perdoc._storedfields
        for name, field, indexed, scorable, is_stored, kind in self._plan:
            value = fields.get(name)
            if value is None:
                continue
            if indexed:
                terms = inverted.get(name)
                if terms is None:
                    terms = inverted[name] = {}
                if kind == "counts":
                    length = _add_counts(terms, field.term_counts(value), docnum)
                elif kind == "set":
                    keys = field.term_set(value)
                    _add_once(terms, keys, docnum)
                    length = len(keys)
                elif kind == "keyword":
                    keys = value if isinstance(value, list) else (value,) if value else ()
                    _add_once(terms, keys, docnum)
                    length = 0
                else:
                    length = _add_counts(terms, {t: f for t, f, _, _ in field.index(value)}, docnum)
                if scorable and length:
                    perdoc.set_length(name, docnum, length)
            if is_stored:
                stored[name] = value
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def pending_words(self) -> list[str]:
        """The distinct words of the text field added so far (before commit)."""
        return list(self._inverted.get("text", ()))

    def add_postings_to_pool(self, reader, startdoc, docmap):
        # Postings of segments merged into this one (commit's MERGE_SMALL), after ours.
        inverted = self._inverted
        for fieldname, btext, docnum, weight, _ in self._process_posts(reader.iter_postings(), startdoc, docmap):
            terms = inverted.get(fieldname)
            if terms is None:
                terms = inverted[fieldname] = {}
            # the same key as add_document's (str, or bytes for fields Whoosh analyzes), so one list per term
            term = btext if self._kinds[fieldname] == "analyzed" else btext.decode("utf-8")
            postings = terms.get(term)
            n = int(weight)
            entry = [docnum] if n == 1 else [~docnum, n]
            if postings is None:
                terms[term] = entry
            else:
                postings += entry

    def _flush_segment(self):
        perdoc = self.perdocwriter
        lengths_by_field = perdoc.lengths
        perdoc.close()
        writer = self.fieldwriter
        for fieldname in sorted(self._inverted):
            terms = self._inverted[fieldname]
            if not terms:
                continue
            lengths = lengths_by_field.get(fieldname)
            writer.start_field(fieldname, self.schema[fieldname])
            ordered = sorted(terms)  # str keys: code point order is UTF-8 byte order, as Whoosh needs
            if fieldname == "text":
                self.written_words = ordered
            for term in ordered:
                btext = term.encode("utf-8") if isinstance(term, str) else term
                postings = terms[term]
                if len(postings) < INLINE_LIMIT and min(postings) >= 0:
                    _write_inlined(writer, btext, postings, lengths)
                    continue
                writer.start_term(btext)
                _buffer_postings(writer._postwriter, postings, lengths)
                writer.finish_term()
            writer.finish_field()
        self._inverted = {}
        writer.close()


def _kind(field) -> str:
    """How add_document gets a field's terms (see schema.py's field classes)."""
    if hasattr(field, "term_set"):
        return "set"
    if getattr(field, "keyword", False):
        return "keyword"
    if hasattr(field, "term_counts"):
        return "counts"
    return "analyzed"


def _add_counts(terms: dict, counts: dict, docnum: int) -> int:
    length = 0
    for term, n in counts.items():
        postings = terms.get(term)
        if postings is None:
            terms[term] = [docnum] if n == 1 else [~docnum, n]
        elif n == 1:
            postings.append(docnum)
        else:
            postings.append(~docnum)
            postings.append(n)
        length += n
    return length


def _add_once(terms: dict, keys, docnum: int) -> None:
    for term in keys:
        postings = terms.get(term)
        if postings is None:
            terms[term] = [docnum]
        else:
            postings.append(docnum)


_ONES = array("f", [1.0] * 1024)


def _decode(postings: list[int]) -> tuple[list[int], array | None]:
    """[docnum, ~docnum, freq, ...] -> (doc numbers, frequencies or None when all are 1)."""
    if min(postings) >= 0:
        return postings, None
    ids, weights = [], array("f")
    i, n = 0, len(postings)
    while i < n:
        d = postings[i]
        if d < 0:
            ids.append(~d)
            weights.append(postings[i + 1])
            i += 2
        else:
            ids.append(d)
            weights.append(1.0)
            i += 1
    return ids, weights


def _write_inlined(writer, btext: bytes, ids: list[int], lengths: array | None) -> None:
    """A short posting list with every frequency 1, straight into the term dictionary (what
    start_term, the postings writer and finish_term do for it, without the block buffer)."""
    info = W3TermInfo()
    info._weight = float(len(ids))
    info._df = len(ids)
    info._maxweight = 1.0
    info._minid, info._maxid = ids[0], ids[-1]
    if lengths is not None:
        size = len(lengths)
        known = [lengths[d] for d in ids if d < size and lengths[d]]
        info._minlength = min(known) if known else None
        info._maxlength = max(known) if known else 0
    info._inlined = (tuple(ids), (1.0,) * len(ids), ())
    writer._tindex.add(pack_ushort(writer._fieldid) + btext, info.to_bytes())


def _buffer_postings(postwriter, postings: list[int], lengths: array | None) -> None:
    """Hand one term's postings to a W3PostingsWriter a block at a time.

    Does what W3PostingsWriter.add_posting does per posting (the block buffer and its
    statistics), writing every full block and leaving the last one for finish_postings.
    """
    ids, weights = _decode(postings)
    limit = postwriter._blocklimit
    n = len(ids)
    size = len(lengths) if lengths is not None else 0
    for start in range(0, n, limit):
        block_ids = array("I", ids[start:start + limit])
        count = len(block_ids)
        block_weights = _ONES[:count] if weights is None else weights[start:start + limit]
        postwriter._ids = block_ids
        postwriter._weights = block_weights
        postwriter._values = []
        postwriter._maxweight = 1.0 if weights is None else max(block_weights)
        postwriter._minlength, postwriter._maxlength = _block_lengths(
            block_ids, None if weights is None else block_weights, postwriter._maxweight, lengths, size)
        postwriter._frontier = () if weights is None else _frontier(block_ids, block_weights, lengths, size)
        if start + limit < n:
            postwriter._write_block()
            postwriter._new_block()


def _block_lengths(ids, weights, top: float, lengths: array | None, size: int) -> tuple[int | None, int]:
    """(the length a block header calls its minimum, its longest length).

    A scorer bounds a block's scores with BM25 of its highest frequency `top` at the header's
    minimum length (ranking.py skips the blocks whose bound cannot make the top k). Paired
    with the shortest length of the block, that bound is loose whenever the shortest passage
    is not the one with the most occurrences. Instead the header gets L = min(length * top /
    frequency) over the postings, the largest length for which top / (top + a + c*L) >=
    f / (f + a + c*length) holds for every posting whatever a, c >= 0, that is for any K1, B
    and average length: a(top - f) >= 0, and c(top*length - f*L) >= 0 because L <= length *
    top / f. Lengths are taken as the reader decodes them (a byte each, rounded up), and L
    rounded down to a length a byte can hold, so the bound stays a bound after decoding.
    With every frequency 1, L is the shortest length, as in Whoosh's own header.
    """
    if not size:
        return None, 0
    known = [lengths[d] if d < size else 0 for d in ids]
    longest = max(known)
    if not longest:
        return None, 0
    if weights is None:
        return _LENGTHS[_length_byte(min(n for n in known if n))], longest
    bound = min(_LENGTHS[_length_byte(n)] * top / f for n, f in zip(known, weights) if n)
    return _LENGTHS[max(1, bisect_right(_LENGTHS, bound) - 1)], longest


def _frontier(ids, weights, lengths: array | None, size: int) -> tuple[int, ...]:
    """(frequency, length byte, frequency, length byte, ...): the postings of a block that no
    other one beats on both counts (as many occurrences or more, in a passage as short or
    shorter), most occurrences first. BM25 rises with the frequency and falls with the
    length, so the best score of the block, for any K1, B and average length, is that of one
    of these: ranking.py bounds the block with it exactly, where the header's (maximum
    frequency, _block_lengths) pair overshoots whenever the most frequent posting is not the
    shortest. Empty when that pair is exact already, or the frontier is long (then the pair
    is the bound)."""
    if not size:
        return ()
    shortest: dict[int, int] = {}  # frequency -> the shortest length byte with it
    for d, f in zip(ids, weights):
        n = lengths[d] if d < size else 0
        if n:
            b, f = _length_byte(n), int(f)
            if b < shortest.get(f, 256):
                shortest[f] = b
    out: list[int] = []
    best = 256
    for f in sorted(shortest, reverse=True):
        if shortest[f] < best:
            best = shortest[f]
            out += (f, best)
    return tuple(out) if 2 < len(out) <= 16 else ()


def build_parallel(ix, parts: list[list[dict]], stats: dict | None = None, **writer_args) -> list[str]:
    """Add every document of `parts` to the index, one worker process and one new segment
    per part, in one commit; returns the distinct words of the text field written.

    Like Whoosh's MpWriter with multisegment=True, except that the workers are forked with
    the documents already in memory: MpWriter pickles every document to a file for a worker
    to read back, which on two cores took a third of the parent's time. Without fork (not
    Linux) the parts are written one after the other in this process. `stats`, when
    given, receives the CPU seconds of each worker ("cpu").
    """
    import multiprocessing
    import time

    parts = [p for p in parts if p]
    writer = FastSegmentWriter(ix, **writer_args)
    try:
        if "fork" not in multiprocessing.get_all_start_methods() or len(parts) < 2:
            cpu = time.process_time()
            for part in parts:
                for doc in part:
                    writer.add_document(**doc)
            writer.commit(merge=False)
            if stats is not None:
                stats["cpu"] = [time.process_time() - cpu]
            return writer.written_words
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        workers = [context.Process(target=_build_part, args=(ix, part, writer_args, results)) for part in parts]
        for worker in workers:
            worker.start()
        done = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
        failed = [error for _, _, error, _ in done if error]
        if stats is not None:
            stats["cpu"] = [cpu for _, _, _, cpu in done]
        if failed or any(w.exitcode for w in workers):
            raise RuntimeError(f"an index worker failed: {failed[0] if failed else 'exit code'}")
        segments = writer._merge_segments(None, False, False) + [segment for segment, _, _, _ in done]
        writer._close_segment()
        writer._commit_toc(segments)
        writer._finish()
        return sorted({w for _, words, _, _ in done for w in words})
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise


def _build_part(ix, docs: list[dict], writer_args: dict, results) -> None:
    import time

    cpu = time.process_time()
    try:
        writer = FastSegmentWriter(ix, _lk=False, **writer_args)
        for doc in docs:
            writer.add_document(**doc)
        segment = writer._finalize_segment()  # not _finish(): that deletes the temp dir the parent shares
        results.put((segment, writer.written_words, None, time.process_time() - cpu))
    except BaseException as e:  # reported by the parent
        results.put((None, [], f"{type(e).__name__}: {e}", 0.0))
