"""A partition of records: its chunks' bytes, records made when read.

What a ``marcd.dask`` task returns for a bag of records.  It holds the
chunks the daemon parsed for the partition (copied out of shared memory,
one bytes object each) and makes a record only when one is asked for, so:
``len()`` costs nothing (``bag.count()`` makes no record); pickled, it is
its chunks' bytes (one bytes object a chunk, not a pickled object a
record), so moving a partition between machines costs what copying its
parsed bytes costs; and numbering it from another base (its file's records
before it) touches chunks, not records.
"""

import bisect
import ctypes
import pickle
from collections.abc import Sequence
from itertools import repeat

from ._chunk import Chunk
from ._errors import marc_error
from ._record import ViewRecord

__all__ = ["Part"]


class Part(Sequence):
    """The records of one partition, in order: a read-only sequence of
    ``marcd.Record`` (``len``, indexing, slicing, iteration)."""

    __slots__ = ("_chunks", "_ends")

    def __init__(self, chunks=()):
        self._chunks = [c for c in chunks if c.n]
        self._ends = []
        n = 0
        for c in self._chunks:
            n += c.n
            self._ends.append(n)

    def __len__(self):
        return self._ends[-1] if self._ends else 0

    def __iter__(self):
        for c in self._chunks:
            c.tables()
            yield from map(ViewRecord, repeat(c, c.n), range(c.n))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("partition index out of range")
        k = bisect.bisect_right(self._ends, i)
        c = self._chunks[k].tables()
        return ViewRecord(c, i - (self._ends[k] - c.n))

    def __repr__(self):
        return "<marcd partition: %d records in %d chunks, %d bytes>" % (
            len(self), len(self._chunks), self.nbytes)

    @property
    def nbytes(self):
        """The parsed bytes it holds (what it weighs, pickled or not)."""
        return sum(c.size for c in self._chunks)

    def shifted(self, base):
        """The same records numbered ``base`` further on (``rec.recno``,
        errors): a new Part sharing the chunks' bytes."""
        return Part([_shifted(c, base) for c in self._chunks])

    def __reduce_ex__(self, protocol):
        # Protocol 5 (distributed's) takes the bytes out of band: no copy.
        for c in self._chunks:
            c.detach()
        wrap = pickle.PickleBuffer if protocol >= 5 else bytes
        return _thaw_part, ([(wrap(c.blk), c.n, c.recno0, c.errors_off,
                              c.nerrors) for c in self._chunks],)


def _block(buf):
    # Unpickled bytes, or a buffer given out of band: something whose
    # slices are bytes, as a chunk's block is.
    if isinstance(buf, bytes):
        return buf
    m = memoryview(buf)
    if m.readonly:
        return bytes(m)
    return (ctypes.c_char * m.nbytes).from_buffer(m.cast("B"))


def _bare(blk, n, recno0, errors_off, nerrors, errors):
    # A chunk of private bytes, tied to no connection; tables when read.
    c = Chunk()
    c.conn = c.k = c.key = c.addr = c.first = None
    c.blk = blk
    c.size = len(blk)
    c.n = n
    c.recno0 = recno0
    c.errors_off = errors_off
    c.nerrors = nerrors
    c.errors = errors
    return c


def _shifted(c, base):
    c.detach()
    return _bare(c.blk, c.n, c.recno0 + base, c.errors_off, c.nerrors,
                 [marc_error(e.code, e.offset, e.recno + base)
                  for e in c.errors])


def _thaw_part(chunks):
    return Part([_bare(_block(blk), n, recno0, eoff, nerr, [])
                 for blk, n, recno0, eoff, nerr in chunks])
