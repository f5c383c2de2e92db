"""Finding and loading libmarcd and the marcd binary (ctypes prototypes).

Where the library comes from, first match wins:

1. ``MARCD_LIB``: a path to the shared library.
2. A build tree: ``$MARCD_BUILDDIR/.libs/libmarcd.so``, else the
   ``.libs/libmarcd.so`` of the tree this package sits in (for an in-tree
   build, ``client/python/marcd`` -> ``../../..``).
3. The installed library: ``libdir`` recorded at ``make install`` time
   (``_paths.py``), then ``ctypes.util.find_library("marcd")``, then
   ``libmarcd.so.0`` by name (the dynamic loader's search path).

The daemon binary likewise: ``MARCD_BIN``, ``$MARCD_BUILDDIR/marcd``, the
``marcd`` of the build tree the package sits in, ``bindir`` from
``_paths.py``, then ``marcd`` on ``PATH``.
"""

import ctypes
import ctypes.util
import os
import shutil

try:
    from . import _paths
except ImportError:  # running from the source tree: nothing installed
    _paths = None

_HERE = os.path.dirname(os.path.abspath(__file__))
# client/python/marcd -> top of the tree the package sits in
_TOP = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))

c_u8p = ctypes.POINTER(ctypes.c_uint8)
c_u32p = ctypes.POINTER(ctypes.c_uint32)


class SubmitOpts(ctypes.Structure):
    _fields_ = [("charset", ctypes.c_int), ("ordered", ctypes.c_int),
                ("name", ctypes.c_char_p), ("from_", ctypes.c_int)]


class BatchStatus(ctypes.Structure):
    _fields_ = [("batch_id", ctypes.c_uint64), ("state", ctypes.c_uint32),
                ("bytes_total", ctypes.c_uint64),
                ("bytes_done", ctypes.c_uint64),
                ("slices_total", ctypes.c_uint32),
                ("slices_done", ctypes.c_uint32),
                ("slices_failed", ctypes.c_uint32),
                ("records", ctypes.c_uint64), ("errors", ctypes.c_uint64),
                ("error", ctypes.c_char * 128)]


class MarcErrorStruct(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint32), ("recno", ctypes.c_uint32),
                ("offset", ctypes.c_uint64)]


def _candidates():
    env = os.environ.get("MARCD_LIB")
    if env:
        return [env], True
    out = []
    bd = os.environ.get("MARCD_BUILDDIR")
    if bd:
        out.append(os.path.join(bd, ".libs", "libmarcd.so"))
    out.append(os.path.join(_TOP, ".libs", "libmarcd.so"))
    if _paths is not None:
        out.append(os.path.join(_paths.LIBDIR, "libmarcd.so.0"))
    found = ctypes.util.find_library("marcd")
    if found:
        out.append(found)
    out.append("libmarcd.so.0")
    return out, False


def _load():
    cands, forced = _candidates()
    errors = []
    for path in cands:
        if os.sep in path and not os.path.exists(path):
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append("%s: %s" % (path, e))
            if forced:
                break
    raise ImportError("marcd: cannot load libmarcd (set MARCD_LIB); tried: "
                      + ("; ".join(errors) or ", ".join(cands)))


def _proto(lib):
    P = ctypes.c_void_p
    I = ctypes.c_int
    U32 = ctypes.c_uint32
    S = ctypes.c_char_p
    sizep = ctypes.POINTER(ctypes.c_size_t)
    u64p = ctypes.POINTER(ctypes.c_uint64)
    table = {
        "marcd_version": (S, []),
        "marcd_strerror": (S, [I]),
        "marcd_last_error": (S, [P]),
        "marcd_connect": (I, [S, S, ctypes.POINTER(P)]),
        "marcd_close": (None, [P]),
        "marcd_submit_fd": (I, [P, I, ctypes.POINTER(SubmitOpts), u64p]),
        "marcd_submit_file": (I, [P, S, ctypes.POINTER(SubmitOpts), u64p]),
        "marcd_submit_buffer": (I, [P, P, ctypes.c_size_t,
                                    ctypes.POINTER(SubmitOpts), u64p]),
        "marcd_submit_range": (I, [P, I, ctypes.c_uint64, ctypes.c_uint64,
                                   ctypes.POINTER(SubmitOpts), u64p]),
        "marcd_next_chunk": (I, [P, ctypes.c_uint64, I, ctypes.POINTER(P)]),
        "marcd_chunk_release": (None, [P, P]),
        "marcd_chunk_records": (U32, [P]),
        "marcd_chunk_nerrors": (U32, [P]),
        "marcd_chunk_error": (I, [P, U32, ctypes.POINTER(MarcErrorStruct)]),
        "marcd_chunk_block": (P, [P, c_u32p]),
        "marcd_chunk_first_recno": (ctypes.c_uint64, [P]),
        "marcd_batch_status": (I, [P, ctypes.c_uint64,
                                   ctypes.POINTER(BatchStatus)]),
        "marcd_cancel": (I, [P, ctypes.c_uint64]),
        "marcd_arena_info": (I, [P, P, P, c_u32p]),
        "marcd_stats_json": (I, [P, ctypes.POINTER(P)]),
        "marc_code_name": (S, [U32]),
        "marc_code_message": (S, [U32]),
        "marcd_py_block_count": (I, [P, U32, c_u32p, c_u32p]),
        "marcd_py_block_tables": (I, [P, U32, U32, U32, c_u32p, c_u32p, P,
                                      c_u32p, c_u32p]),
        "marcd_py_block_orphans": (I, [P, U32, c_u32p, U32]),
        "marcd_py_block_values": (I, [P, U32, S, I, P, ctypes.c_size_t,
                                      sizep, c_u32p, c_u32p]),
        "marcd_py_free": (None, [P]),
        "marcd_py_block_rebuild": (I, [P, U32, U32, U32, c_u32p, P, P,
                                       c_u32p, P, ctypes.c_size_t, sizep]),
        "marcd_py_marc8_to_utf8": (I, [P, ctypes.c_size_t, I,
                                       ctypes.POINTER(P), sizep, c_u32p]),
    }
    missing = []
    for name, (res, args) in table.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = res
        fn.argtypes = args
    if missing:
        raise ImportError("marcd: %s lacks %s (too old a libmarcd?)"
                          % (lib._name, ", ".join(missing)))


lib, LIB_PATH = _load()
_proto(lib)


def find_daemon():
    """Path of the marcd binary to start for embedded mode, or None."""
    env = os.environ.get("MARCD_BIN")
    if env:
        return env
    cands = []
    bd = os.environ.get("MARCD_BUILDDIR")
    if bd:
        cands.append(os.path.join(bd, "marcd"))
    cands.append(os.path.join(_TOP, "marcd"))
    if _paths is not None:
        cands.append(os.path.join(_paths.BINDIR, "marcd"))
    for c in cands:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return shutil.which("marcd")


def code_name(code):
    return lib.marc_code_name(code).decode("ascii", "replace")


def code_message(code):
    return lib.marc_code_message(code).decode("utf-8", "replace")


def strerror(code):
    return lib.marcd_strerror(code).decode("utf-8", "replace")
