"""Columns of values in bulk: a pandas DataFrame, one row per record.

``columns`` maps a column name to ``(tag, code)``: ``{"id": ("001", None),
"title": ("245", "a"), "isbn": ("020", "a")}``.  A control field tag (00X)
takes no code: the value is the field's data.  ``repeated`` says what a
cell holds:

* ``"first"`` (the default): the first ``$code`` of the first field tagged
  ``tag``, or None; what ``batch.values(tag, code)`` gives.
* ``"list"``: every ``$code`` of every field tagged ``tag`` (every such
  control field's data), in record order: a list, empty when there is none.

Every frame also has ``file``, ``offset`` (byte offset of the record in the
file) and ``recno`` (1-based record number in the file) columns.  The
values of a chunk come from one call into C per column (and one for the
offsets and record numbers), one decode and one split: no Python loop over
fields or subfields.  pandas is imported only here, when a frame is asked
for.
"""

import ctypes
from array import array
from itertools import islice

from . import _lib
from ._errors import service_error
from ._record import chunk_error

lib = _lib.lib
_u64p = ctypes.POINTER(ctypes.c_uint64)
_RESERVED = ("file", "offset", "recno")
ERROR_COLUMNS = ("file", "offset", "recno", "code", "message")
DEFAULT_COLUMNS = {"id": ("001", None), "title": ("245", "a"),
                   "isbn": ("020", "a"), "author": ("100", "a")}


def _proto():
    P = ctypes.c_void_p
    U32 = ctypes.c_uint32
    try:
        va = lib.marcd_py_block_values_all
        pos = lib.marcd_py_block_positions
    except AttributeError:
        raise ImportError("marcd: %s lacks marcd_py_block_values_all "
                          "(too old a libmarcd?)" % lib._name) from None
    va.restype = ctypes.c_int
    va.argtypes = [P, U32, ctypes.c_char_p, ctypes.c_int, P, ctypes.c_size_t,
                   ctypes.POINTER(ctypes.c_size_t), _lib.c_u32p]
    pos.restype = ctypes.c_int
    pos.argtypes = [P, U32, _u64p, _lib.c_u32p]


_proto()


def pandas():
    """The pandas module, or an ImportError saying what needs it."""
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError("marcd: DataFrames need pandas (Debian: apt-get "
                          "install python3-pandas; or pip install pandas): "
                          "%s" % e) from None
    return pd


def check_columns(columns, repeated="first"):
    """The columns as {name: (tag, code)}, checked; ValueError if wrong."""
    if repeated not in ("first", "list"):
        raise ValueError("repeated is 'first' or 'list', not %r"
                         % (repeated,))
    if columns is None:
        columns = DEFAULT_COLUMNS
    out = {}
    for name, spec in dict(columns).items():
        if name in _RESERVED:
            raise ValueError("column name %r is taken by marcd" % (name,))
        if isinstance(spec, str):
            spec = (spec, None)
        try:
            tag, code = spec
        except (TypeError, ValueError):
            raise ValueError("column %r: give (tag, code), e.g. ('245', "
                             "'a'), or ('001', None)" % (name,)) from None
        if not isinstance(tag, str) or len(tag) != 3:
            raise ValueError("column %r: a tag is three characters, e.g. "
                             "'245'" % (name,))
        if code is not None and (not isinstance(code, str) or len(
                code.encode("latin-1", "replace")) != 1 or code == "\x1f"):
            raise ValueError("column %r: a subfield code is one character"
                             % (name,))
        out[str(name)] = (tag, code)
    return out


def _src(c):
    return c.addr if c.addr is not None else c.blk


def _values_all(c, tag, code):
    # Every value of every field tagged `tag`, a list per record.
    n = c.n
    cap = 2 * c.size + 16
    buf = bytearray(cap)
    cbuf = (ctypes.c_char * cap).from_buffer(buf)
    counts = array("I", bytes(4 * n))
    used = ctypes.c_size_t()
    rc = lib.marcd_py_block_values_all(
        _src(c), c.size, tag.encode("latin-1"),
        -1 if code is None else code.encode("latin-1")[0], cbuf, cap,
        ctypes.byref(used), ctypes.cast(counts.buffer_info()[0],
                                        _lib.c_u32p))
    del cbuf
    if rc < 0:
        raise service_error(None, rc)
    total = sum(counts)
    if total == 0:
        return [[] for _ in range(n)]
    with memoryview(buf) as mv:
        vals = str(mv[:used.value], "utf-8", "replace").split("\x1f")
    if len(vals) != total:          # a control field's data held 0x1F
        return [[f.data for f in r.get_fields(tag)] for r in c]
    it = iter(vals)
    return [list(islice(it, k)) for k in counts]


def chunk_columns(c, columns, repeated="first"):
    """{name: values} of a chunk's records, with "offset" and "recno"
    (arrays; recno counted from 1 in the batch)."""
    n = c.n
    out = {}
    if n == 0:
        for name in columns:
            out[name] = []
        out["offset"] = array("Q")
        out["recno"] = array("Q")
        return out
    for name, (tag, code) in columns.items():
        if repeated == "first":
            out[name] = c.values(tag, code)
        else:
            out[name] = _values_all(c, tag, code)
    offs = array("Q", bytes(8 * n))
    recs = array("I", bytes(4 * n))
    rc = lib.marcd_py_block_positions(
        _src(c), c.size, ctypes.cast(offs.buffer_info()[0], _u64p),
        ctypes.cast(recs.buffer_info()[0], _lib.c_u32p))
    if rc < 0:
        raise service_error(None, rc)
    out["offset"] = offs
    # Numbers in the batch: the chunk's base added by a builtin, with no
    # Python code run per record (numpy may be absent here).
    base = c.recno0
    out["recno"] = array("Q", map(base.__add__, recs)) if base else \
        array("Q", recs)
    return out


def chunk_errors(c):
    """Every error of a chunk (records' own and bytes that held none), in
    input order, as MarcError objects."""
    if c.addr is None and not c.blk:    # a failed chunk: no block
        return list(c.errors)
    return [chunk_error(c, j) for j in range(c.nerrors)]


def error_rows(errors, file):
    """Rows (file, offset, recno, code, message) of MarcError objects."""
    return [(file, e.offset, e.recno, e.name, e.message) for e in errors]


class Columns:
    """Accumulates chunk_columns() of successive chunks into one frame."""

    def __init__(self, columns, repeated="first", file=None):
        self.columns = columns
        self.repeated = repeated
        self.file = file
        self.vals = {name: [] for name in columns}
        self.offset = array("Q")
        self.recno = array("Q")

    def add(self, c):
        cols = chunk_columns(c, self.columns, self.repeated)
        for name in self.columns:
            self.vals[name].extend(cols[name])
        self.offset.extend(cols["offset"])
        self.recno.extend(cols["recno"])

    def frame(self):
        return make_frame(self.vals, self.offset, self.recno, self.file)


def make_frame(vals, offset, recno, file):
    """The DataFrame: the value columns, then file, offset, recno."""
    pd = pandas()
    import numpy as np
    n = len(offset)
    data = {name: pd.Series(v, dtype=object) for name, v in vals.items()}
    data["file"] = pd.Series([file] * n, dtype=object)
    data["offset"] = np.frombuffer(offset, dtype=np.uint64).astype(
        np.int64) if n else np.zeros(0, dtype=np.int64)
    data["recno"] = np.frombuffer(recno, dtype=np.uint64).astype(
        np.int64) if n else np.zeros(0, dtype=np.int64)
    return pd.DataFrame(data, columns=list(vals) + list(_RESERVED))


def errors_frame(rows):
    """Error rows as a DataFrame (file, offset, recno, code, message)."""
    pd = pandas()
    df = pd.DataFrame.from_records(list(rows), columns=list(ERROR_COLUMNS))
    return df.astype({"file": object, "offset": "int64", "recno": "int64",
                      "code": object, "message": object})


def batch_frame(batch, columns=None, repeated="first", file=None,
                errors=None):
    """A batch's values as a DataFrame (see the module doc); ``errors``, a
    list, gets every error of the input (MarcError objects)."""
    columns = check_columns(columns, repeated)
    pandas()
    acc = Columns(columns, repeated, file)
    for c in batch.chunks():
        acc.add(c)
        if errors is not None and c.nerrors:
            errors.extend(chunk_errors(c))
    return acc.frame()


def frame(path, columns=None, repeated="first", workers=None,
          charset="auto", socket=None, errors=None):
    """A MARC file's values as a pandas DataFrame, one row per record.

    ``marcd.frame("file.mrc", {"title": ("245", "a")})``.  Like
    ``marcd.read``: without ``socket`` a private daemon with ``workers``
    readers is started and stopped.  See the module doc for ``columns`` and
    ``repeated``; ``errors``, a list, gets every error of the input.
    """
    from ._client import Client
    from ._embedded import Daemon
    columns = check_columns(columns, repeated)
    pandas()
    daemon = None
    try:
        if socket is None:
            daemon = Daemon(workers).start()
            client = daemon.client()
        else:
            client = Client(socket)
        with client:
            batch = client.submit(path, charset=charset)
            return batch_frame(batch, columns, repeated,
                               file=str(path), errors=errors)
    finally:
        if daemon is not None:
            daemon.stop()
