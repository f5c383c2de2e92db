"""Service mode: a connection to a running marcd, and its batches."""

import ctypes
import io
import json
import os
import stat
import time
from itertools import repeat

from . import _lib
from ._chunk import Conn, make_chunk
from ._errors import ServiceError, service_error
from ._record import ViewRecord as Record

lib = _lib.lib

E_CONNECT = -2
E_TIMEOUT = -8
E_ORDER = -11
_WAIT_MS = 100          # a wait slice: Ctrl-C is seen between slices
_CHARSETS = {None: 0, "auto": 0, "marc8": 1, "marc-8": 1, "utf8": 2,
             "utf-8": 2}
# libmarcd's enum marcd_from: the names marcctl's --from takes.
_FROMS = {None: 0, "iso2709": 1, "marc": 1, "marcxml": 2, "xml": 2,
          "marcjson": 3, "json": 3, "mrk": 4}
_STATES = {0: "queued", 1: "running", 2: "done", 3: "failed",
           4: "cancelled"}


def charset_code(charset):
    try:
        return _CHARSETS[charset.lower() if isinstance(charset, str)
                         else charset]
    except KeyError:
        raise ValueError("charset is 'auto', 'marc8' or 'utf8', not %r"
                         % (charset,)) from None


def from_code(from_):
    try:
        return _FROMS[from_.lower() if isinstance(from_, str) else from_]
    except KeyError:
        raise ValueError("from_ is None (by content), 'iso2709', 'marcxml', "
                         "'marcjson' or 'mrk', not %r" % (from_,)) from None


def range_args(offset, length):
    """(offset, length) as libmarcd takes them (length 0: to the end), or
    None for the whole input; bad values raise ValueError."""
    if offset is None and length is None:
        return None
    offset = 0 if offset is None else offset
    if not isinstance(offset, int) or offset < 0:
        raise ValueError("offset is a byte count >= 0, not %r" % (offset,))
    if length is not None and (not isinstance(length, int) or length <= 0):
        raise ValueError("length is a byte count > 0 (None: to the end), "
                         "not %r" % (length,))
    return offset, length or 0


def _connect(socket, tenant):
    h = ctypes.c_void_p()
    rc = lib.marcd_connect(os.fsencode(socket) if socket else None,
                           tenant.encode() if tenant else None,
                           ctypes.byref(h))
    return rc, h.value


class Client:
    """A connection to a marcd daemon (service mode).

    ``Client(socket=None, tenant=None)``: ``socket`` defaults as the daemon
    does ($MARCD_SOCKET, $XDG_RUNTIME_DIR/marcd.sock, /run/marcd/marcd.sock);
    ``tenant`` None is the daemon's default tenant.  Use as a context
    manager, or call :meth:`close`.  One client serves one thread at a
    time.  ``max_pinned``: how many chunks records may keep in shared memory
    before the oldest are copied out (so the daemon never runs short of
    blocks because of records held).
    """

    def __init__(self, socket=None, tenant=None, max_pinned=8,
                 connect_timeout=0.0, _alive=None):
        deadline = time.monotonic() + connect_timeout
        while True:
            rc, h = _connect(socket, tenant)
            if rc == 0:
                break
            if (rc != E_CONNECT or time.monotonic() >= deadline
                    or (_alive is not None and not _alive())):
                raise ServiceError(rc, "cannot connect to marcd at %s: %s"
                                   % (socket or "the default socket",
                                      _lib.strerror(rc)))
            time.sleep(0.01)
        self._conn = Conn(h, max_pinned)
        self.socket = socket
        self.tenant = tenant

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Disconnect.  Records still referenced are copied out first."""
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()

    @property
    def closed(self):
        return self._conn.closed

    def submit(self, source, charset="auto", strict=False, name=None,
               offset=None, length=None, from_=None):
        """Submit a batch: a path, a file object or bytes.  Returns a Batch.

        A file object with a real fileno() on a regular file is submitted
        by descriptor, the whole file whatever its position; other file
        objects are read() and sent as bytes, like bytes-like objects.

        ``offset``/``length``: only the records whose first byte lies in
        that byte range of the input (``length`` None: to the end), as
        ``marcctl dump --range`` reads them: record numbers count from the
        range's first record, offsets stay offsets in the whole input.
        ``from_``: the input's format, 'iso2709', 'marcxml', 'marcjson'
        (JSON Lines too) or 'mrk' (marcctl's ``--from``); None decides by
        the input's first bytes.
        """
        opts = _lib.SubmitOpts(charset_code(charset), 1,
                               name.encode() if name else None,
                               from_code(from_))
        rng = range_args(offset, length)
        bid = ctypes.c_uint64()
        fd = None
        data = None
        path = None
        if isinstance(source, (str, os.PathLike)):
            path = os.fsencode(source)
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        elif hasattr(source, "read"):
            try:
                fd = source.fileno()
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    fd = None
            except (AttributeError, OSError, io.UnsupportedOperation):
                fd = None
            if fd is None:
                data = source.read()
                if isinstance(data, str):
                    raise TypeError("open MARC files in binary mode")
                data = bytes(data)
        else:
            raise TypeError("submit() takes a path, a binary file object or "
                            "bytes, not %s" % type(source).__name__)
        if rng is not None:
            return self._submit_range(path, fd, data, rng, opts, strict)
        with self._conn as h:
            if path is not None:
                rc = lib.marcd_submit_file(h, path, ctypes.byref(opts),
                                           ctypes.byref(bid))
            elif fd is not None:
                rc = lib.marcd_submit_fd(h, fd, ctypes.byref(opts),
                                         ctypes.byref(bid))
            else:
                rc = lib.marcd_submit_buffer(h, data, len(data),
                                             ctypes.byref(opts),
                                             ctypes.byref(bid))
            if rc != 0:
                raise service_error(h, rc)
        return Batch(self, bid.value, strict)

    def _submit_range(self, path, fd, data, rng, opts, strict):
        """A range of a path, a descriptor or bytes (through a memfd)."""
        bid = ctypes.c_uint64()
        own = None
        try:
            if path is not None:
                own = fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                opts.name = opts.name or path
            elif fd is None:
                own = fd = os.memfd_create("marcd-range", os.MFD_CLOEXEC)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            with self._conn as h:
                rc = lib.marcd_submit_range(h, fd, rng[0], rng[1],
                                            ctypes.byref(opts),
                                            ctypes.byref(bid))
                if rc != 0:
                    raise service_error(h, rc)
        finally:
            if own is not None:
                os.close(own)
        return Batch(self, bid.value, strict)

    def stats(self):
        """The daemon's statistics (marcd_stats_json) as a dict."""
        p = ctypes.c_void_p()
        with self._conn as h:
            rc = lib.marcd_stats_json(h, ctypes.byref(p))
            if rc != 0:
                raise service_error(h, rc)
        try:
            return json.loads(ctypes.string_at(p.value).decode("utf-8"))
        finally:
            lib.marcd_py_free(p.value)

    def batch_status(self, batch_id):
        """Status of any batch of the tenant, as a dict."""
        st = _lib.BatchStatus()
        with self._conn as h:
            rc = lib.marcd_batch_status(h, batch_id, ctypes.byref(st))
            if rc != 0:
                raise service_error(h, rc)
        return {"batch_id": st.batch_id,
                "state": _STATES.get(st.state, str(st.state)),
                "state_code": st.state, "bytes_total": st.bytes_total,
                "bytes_done": st.bytes_done,
                "slices_total": st.slices_total,
                "slices_done": st.slices_done,
                "slices_failed": st.slices_failed, "records": st.records,
                "errors": st.errors,
                "error": st.error.decode("utf-8", "replace")}


class Batch:
    """A submitted batch.  Iterate it once, for records in file order (or
    call :meth:`values`, or :meth:`chunks`; one of them, once).

    ``errors`` collects, as the batch is read, the errors of bytes that held
    no record (junk, truncated or skipped records, failed chunks); a
    record's own errors are on the record.  With ``strict=True`` iteration
    raises the first error (a MarcError subclass) instead, after yielding
    the good records before it.

    Batches of one client come out in the order they were submitted: read
    them in that order.  Reading a later one while the earlier ones hold
    every block of the arena raises ServiceError (``MARCD_E_ORDER``) rather
    than waiting for ever.
    """

    def __init__(self, client, batch_id, strict=False):
        self.client = client
        self.id = batch_id
        self.strict = strict
        self.errors = []
        self.records_read = 0
        self._taken = False
        self._closing_client = False    # set by read(): no need to cancel
        self.done = False

    def __repr__(self):
        return "<marcd.Batch %d>" % self.id

    def _take(self):
        if self._taken:
            raise RuntimeError("a batch is read once")
        self._taken = True

    def _next_chunk(self):
        conn = self.client._conn
        k = ctypes.c_void_p()
        while True:
            with conn as h:
                rc = lib.marcd_next_chunk(h, self.id, _WAIT_MS,
                                          ctypes.byref(k))
                if rc == 1:
                    c = make_chunk(conn, k.value)
                    if len(conn.live) > conn.max_pinned:
                        conn.detach_all(keep=c)
                    if c.errors:
                        self.errors.extend(c.errors)
                    return c
                if rc == 0:
                    self.done = True
                    return None
                if rc == E_ORDER and conn.live:
                    # Our own records may be what holds the blocks: copy
                    # them out and see whether the batch comes then.
                    conn.detach_all()
                    continue
                if rc != E_TIMEOUT:
                    raise service_error(h, rc)
                # Slow to come: maybe our own records hold the blocks the
                # daemon waits for.  Copy them out and wait again.
                if conn.live:
                    conn.detach_all()

    def chunks(self):
        """Iterate the batch chunk by chunk (Chunk objects)."""
        self._take()
        return self._chunks()

    def _chunks(self):
        try:
            while True:
                c = None
                c = self._next_chunk()
                if c is None:
                    return
                if self.strict and c.nerrors:
                    self._strict_check(c)
                self.records_read += c.n
                yield c
        finally:
            if not self.done:
                self.close()

    def __iter__(self):
        self._take()
        return self._records()

    def _records(self):
        strict = self.strict
        n = 0
        try:
            while True:
                c = None            # let the last chunk go before waiting
                c = self._next_chunk()
                if c is None:
                    return
                if strict and c.nerrors:
                    yield from self._strict_records(c)
                else:
                    c.tables()
                    n += c.n
                    yield from map(Record, repeat(c, c.n), range(c.n))
        finally:
            self.records_read += n
            if not self.done:
                self.close()

    def close(self):
        """Stop reading the batch: cancel it if it is not finished and give
        back its chunks not read yet (also done when an unfinished batch,
        or its iterator, is dropped)."""
        if not self.done:
            self.done = True
            if not self._closing_client:
                self.client._conn.abandon(self.id)

    def __del__(self):
        try:
            if not self.done:
                self.close()
        except Exception:       # interpreter shutting down
            pass

    def _first_error(self, c):
        """(index of the first bad record or c.n, error) of a chunk."""
        c.tables()
        orphans = c.errors
        for i in range(c.n):
            r = Record(c, i)
            h = r._hdr()
            if orphans and orphans[0].offset < h[2]:
                return i, orphans[0]
            if h[6]:
                return i, r.errors[0]
        return c.n, (orphans[0] if orphans else None)

    def _strict_records(self, c):
        i, err = self._first_error(c)
        for j in range(i):
            self.records_read += 1
            yield Record(c, j)
        if err is not None:
            raise err

    def _strict_check(self, c):
        i, err = self._first_error(c)
        if err is not None:
            raise err

    def values(self, tag, code=None):
        """One value per record of the whole batch; see Chunk.values."""
        out = []
        for c in self.chunks():
            out.extend(c.values(tag, code))
        return out

    def values_by_chunk(self, tag, code=None):
        """Like values(), a list per chunk as each chunk comes."""
        for c in self.chunks():
            yield c.values(tag, code)

    def frame(self, columns=None, repeated="first", errors=None):
        """The batch's values as a pandas DataFrame; see marcd.frame."""
        from ._frame import batch_frame
        return batch_frame(self, columns, repeated, errors=errors)

    def status(self):
        """The daemon's view of the batch, as a dict."""
        return self.client.batch_status(self.id)

    def cancel(self):
        """Stop the batch: no more chunks are parsed, those parsed but not
        taken yet are given back, and iterating it ends."""
        conn = self.client._conn
        with conn as h:
            rc = lib.marcd_cancel(h, self.id)
            if rc != 0:
                raise service_error(h, rc)
