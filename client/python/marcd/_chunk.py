"""Chunks: one parsed block of a batch, shared with the daemon.

A :class:`Chunk` maps the block in place (a ctypes array over the arena;
no copy) and holds the flat tables C laid out for it.  Records refer to
their chunk; when nothing refers to it any more it is given back to the
daemon.  A chunk still referenced when the daemon might run short of
blocks (too many held, or the next chunk is slow to come), or when the
connection closes, is *detached*: its used bytes are copied to private
memory and the block is given back, and its records go on working.
"""

import ctypes
import itertools
import mmap
import struct
import threading
import weakref
from array import array
from itertools import repeat

from . import _lib
from ._errors import marc_error, service_error
from ._record import ViewRecord as Record, chunk_error

lib = _lib.lib
_U32 = struct.Struct("<I")
_ZERO = array("I", [0])
# Offsets into shared memory, pinned in common/shm.h by _Static_asserts:
# a layout change there bumps MARCD_LAYOUT_VERSION and these together.
_CHUNK_USED = 40        # offsetof(struct chunk_hdr, used)
_CHUNK_ERRORS_OFF = 56  # offsetof(struct chunk_hdr, errors_off)
_E_TIMEOUT = -8


def _addr(a):
    return a.buffer_info()[0]


class Store:
    """Private memory for chunks that are all kept together (a Dask
    partition): segments of anonymous memory the kernel may back with huge
    pages, filled one chunk after the other.

    Copied out one bytes object each, a chunk takes fresh pages one by one
    and every page faults on first write: a third of the cost of reading a
    partition.  A segment lives while any chunk copied into it does.
    """

    SEGMENT = 32 << 20

    def __init__(self):
        self.seg = None
        self.off = 0

    def copy(self, addr, n):
        """n bytes at addr, as a ctypes char array in the store."""
        if n > self.SEGMENT:
            return ctypes.string_at(addr, n)
        if self.seg is None or self.off + n > self.SEGMENT:
            self.seg = mmap.mmap(-1, self.SEGMENT, flags=mmap.MAP_PRIVATE)
            if hasattr(mmap, "MADV_HUGEPAGE"):
                self.seg.madvise(mmap.MADV_HUGEPAGE)
            self.off = 0
        a = (ctypes.c_char * n).from_buffer(self.seg, self.off)
        ctypes.memmove(a, addr, n)
        self.off += (n + 63) & ~63
        return a


class Conn:
    """A libmarcd connection and the chunks still in its shared memory.

    Every call into the library is made holding ``lock``.  A chunk dropped
    while the lock is held elsewhere (another thread, or a finalizer run in
    the middle of a call) is queued in ``pending`` and released by the next
    call.
    """

    def __init__(self, handle, max_pinned=8):
        self.h = handle
        self.lock = threading.Lock()
        self.pending = []
        self.pending_batches = []
        self.live = {}          # chunk.key -> weakref, oldest first
        self.keys = itertools.count()
        self.closed = False
        # Records may pin at most half the arena's blocks: the daemon needs
        # the rest to go on parsing what they wait for.
        nblocks = ctypes.c_uint32()
        if lib.marcd_arena_info(handle, None, None,
                                ctypes.byref(nblocks)) == 0:
            max_pinned = max(1, min(max_pinned, nblocks.value // 2))
        self.max_pinned = max_pinned
        self.valbuf = None
        self.store = None       # a Store: where chunks are copied out to

    def __enter__(self):
        self.lock.acquire()
        if self.closed:
            self.lock.release()
            raise service_error(None, -7)
        return self.h

    def __exit__(self, *exc):
        try:
            if self.pending or self.pending_batches:
                self._drain()
        finally:
            self.lock.release()

    def _drain(self):
        while self.pending:
            k, key = self.pending.pop()
            self.live.pop(key, None)
            lib.marcd_chunk_release(self.h, k)
        while self.pending_batches:
            self._abandon_locked(self.pending_batches.pop())

    def _abandon_locked(self, bid):
        # Cancel: libmarcd gives back what was parsed for it and not taken
        # (nobody will read it; its blocks would stay taken until we
        # disconnect).
        lib.marcd_cancel(self.h, bid)

    def abandon(self, bid):
        """Drop a batch that will not be read to its end.  Called from
        finalizers: if the connection is in use, done by its next call."""
        if self.closed:
            return
        if self.lock.acquire(False):
            try:
                if not self.closed:
                    self._abandon_locked(bid)
                    self._drain()
            finally:
                self.lock.release()
        else:
            self.pending_batches.append(bid)

    def release(self, k, key):
        """Give a chunk back (from a finalizer: never blocks)."""
        if self.closed:
            return
        if self.lock.acquire(False):
            try:
                if not self.closed:
                    self.live.pop(key, None)
                    lib.marcd_chunk_release(self.h, k)
                    self._drain()
            finally:
                self.lock.release()
        else:
            self.pending.append((k, key))

    def detach_all(self, keep=None):
        """Copy every chunk still in shared memory out of it (lock held)."""
        for key, ref in list(self.live.items()):
            c = ref()
            if c is not None and c is not keep:
                c._detach_locked()
        self._drain()

    def __del__(self):
        try:
            self.close()
        except Exception:       # interpreter shutting down
            pass

    def close(self):
        if self.h is None:
            return
        with self.lock:
            if self.closed:
                return
            try:
                self.detach_all()
            finally:
                self.closed = True
                self.pending.clear()
                self.pending_batches.clear()
                self.live.clear()
                h, self.h = self.h, None
                lib.marcd_close(h)


class Chunk:
    """One parsed chunk of a batch: ``len(chunk)`` records, ``chunk[i]``,
    iteration, ``chunk.values(tag, code)``, and ``chunk.errors`` (errors of
    bytes in it that held no record)."""

    __slots__ = ("conn", "k", "addr", "size", "blk", "n", "rec_off", "first",
                 "tags", "fstart", "fend", "recno0", "errors_off", "nerrors",
                 "errors", "key", "__weakref__")

    def __del__(self):
        k = self.k
        if k is not None:
            self.k = None
            try:
                self.conn.release(k, self.key)
            except Exception:   # interpreter shutting down
                pass

    def __len__(self):
        return self.n

    def tables(self):
        """Lay the records out for Record (once; before any is made)."""
        if self.first is not None:
            return self
        if self.n == 0:
            # Nothing to lay out (input that held no whole record): empty
            # arrays have no buffer, and C takes a NULL table as an error.
            self.first = [0]
            self.rec_off = self.fstart = self.fend = _ZERO * 0
            self.tags = ""
            return self
        src = self.addr if self.addr is not None else self.blk
        nr = ctypes.c_uint32()
        nf = ctypes.c_uint32()
        rc = lib.marcd_py_block_count(src, self.size, ctypes.byref(nr),
                                      ctypes.byref(nf))
        if rc < 0:
            raise service_error(None, rc)
        n, m = nr.value, nf.value
        rec_off = _ZERO * n
        first = _ZERO * (n + 1)
        fstart = _ZERO * m
        fend = _ZERO * m
        tags = bytearray(4 * m)
        u32p = _lib.c_u32p
        rc = lib.marcd_py_block_tables(
            src, self.size, n, m, ctypes.cast(_addr(rec_off), u32p),
            ctypes.cast(_addr(first), u32p),
            (ctypes.c_char * len(tags)).from_buffer(tags) if m else None,
            ctypes.cast(_addr(fstart), u32p), ctypes.cast(_addr(fend), u32p))
        if rc < 0:
            raise service_error(None, rc)
        self.tags = tags.decode("latin-1")
        self.rec_off = rec_off
        self.fstart = fstart
        self.fend = fend
        self.n = n
        self.first = first.tolist()
        return self

    def __getitem__(self, i):
        if self.first is None:
            self.tables()
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return Record(self, i)

    def __iter__(self):
        if self.first is None:
            self.tables()
        return map(Record, repeat(self, self.n), range(self.n))

    @property
    def first_recno(self):
        """Number in the batch of the chunk's first record."""
        return self.recno0 + 1

    @property
    def attached(self):
        """Whether the chunk is still read in place in shared memory."""
        return self.k is not None

    def errors_range(self, first, n, record):
        return [chunk_error(self, j, record) for j in range(first, first + n)]

    def detach(self):
        """Copy the chunk out of shared memory and give the block back."""
        if self.k is None:
            return
        with self.conn:
            self._detach_locked()

    def _detach_locked(self):
        k = self.k
        if k is None:
            return
        used = _U32.unpack_from(self.blk, _CHUNK_USED)[0]
        if used > self.size:
            used = self.size
        store = self.conn.store
        self.blk = (store.copy(self.addr, used) if store is not None
                    else ctypes.string_at(self.addr, used))
        self.size = used
        self.addr = None
        self.k = None
        self.conn.live.pop(self.key, None)
        lib.marcd_chunk_release(self.conn.h, k)

    def values(self, tag, code=None):
        """First ``$code`` of the first ``tag`` field of every record.

        One value per record, in order: the data of the first subfield
        coded ``code`` of the record's first field tagged ``tag``, or None
        when the record has no such field or that field has no such
        subfield (a later field with the same tag is not looked at).  For a
        control field tag (00X) give no code: the value is the field's
        data.  The same as ``[r.get(tag) and r.get(tag).get(code) ...]``
        for data fields, done in one call into C and one decode.
        """
        n = self.n
        if n == 0:
            return []
        if not isinstance(tag, str) or len(tag) != 3:
            raise ValueError("a tag is three characters, e.g. '245'")
        btag = tag.encode("latin-1")
        if code is None:
            icode = -1
        else:
            bcode = code.encode("latin-1") if isinstance(code, str) else b""
            if len(bcode) != 1 or bcode == b"\x1f":
                raise ValueError("a subfield code is one character")
            icode = bcode[0]
        src = self.addr if self.addr is not None else self.blk
        cap = self.size + n + 16
        conn = self.conn
        buf = conn.valbuf
        if buf is None or len(buf) < cap:
            buf = conn.valbuf = bytearray(cap)
        cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
        none = _ZERO * n
        used = ctypes.c_size_t()
        nnone = ctypes.c_uint32()
        rc = lib.marcd_py_block_values(src, self.size, btag, icode, cbuf,
                                       len(buf), ctypes.byref(used),
                                       ctypes.cast(_addr(none), _lib.c_u32p),
                                       ctypes.byref(nnone))
        del cbuf
        if rc < 0:
            raise service_error(None, rc)
        with memoryview(buf) as mv:
            vals = str(mv[:used.value], "utf-8", "replace").split("\x1f")
        if len(vals) != n:          # a control field's data held 0x1F
            return self._values_py(tag, code)
        for j in none[:nnone.value]:
            vals[j] = None
        return vals

    def _values_py(self, tag, code):
        out = []
        for r in self:
            f = r.get(tag)
            if f is None:
                out.append(None)
            elif f.control_field:
                out.append(f.data if code is None else None)
            else:
                out.append(None if code is None else f.get(code))
        return out


def make_chunk(conn, k):
    """Wrap a chunk just taken from the library (conn's lock held)."""
    c = Chunk()
    c.conn = conn
    c.k = None
    c.key = next(conn.keys)
    c.first = None
    c.recno0 = lib.marcd_chunk_first_recno(k) - 1
    c.nerrors = nerr = lib.marcd_chunk_nerrors(k)
    c.errors = []
    size = ctypes.c_uint32()
    p = lib.marcd_chunk_block(k, ctypes.byref(size))
    if not p:
        # A chunk that failed: no block, only its error.
        e = _lib.MarcErrorStruct()
        for j in range(nerr):
            if lib.marcd_chunk_error(k, j, ctypes.byref(e)) == 0:
                c.errors.append(marc_error(e.code, e.offset, e.recno))
        lib.marcd_chunk_release(conn.h, k)
        c.addr = None
        c.size = 0
        c.blk = b""
        c.n = 0
        c.first = [0]
        c.rec_off = c.fstart = c.fend = _ZERO * 0
        c.tags = ""
        c.errors_off = 0
        return c
    c.addr = p
    c.size = size.value
    c.blk = (ctypes.c_char * size.value).from_address(p)
    try:
        c.n = lib.marcd_chunk_records(k)
        c.errors_off = _U32.unpack_from(c.blk, _CHUNK_ERRORS_OFF)[0]
        if nerr:
            idx = _ZERO * nerr
            no = lib.marcd_py_block_orphans(
                p, size.value, ctypes.cast(_addr(idx), _lib.c_u32p), nerr)
            if no < 0:
                raise service_error(None, no)
            c.errors = [chunk_error(c, j) for j in idx[:no]]
    except BaseException:
        c.blk = b""
        lib.marcd_chunk_release(conn.h, k)
        raise
    c.k = k
    conn.live[c.key] = weakref.ref(c)
    return c
