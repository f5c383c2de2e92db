"""marcd on Dask: MARC files as Dask bags and DataFrames, on many machines.

::

    import marcd.dask
    from distributed import Client
    client = Client("tcp://scheduler:8786")
    marcd.dask.register(client)                 # one marcd per host
    recs = marcd.dask.read_marc("/data/*.mrc")  # a dask.bag.Bag of records
    df = marcd.dask.read_marc_values("/data/*.mrc",
                                     columns={"title": ("245", "a")})
    bad = marcd.dask.read_errors(df)            # the errors, as rows

Partitions: one per ``blocksize`` bytes of each file (:func:`partitions`
decides it, and only it): the daemon reads a byte range of a file as
``marcctl dump --range`` does (a range owns the records whose first byte
lies in it), so the partitions of a file hold each of its records once, in
order.  Compressed and UTF-16 files are one partition each.  Record numbers
(the ``recno`` column, ``rec.recno``, errors' ``recno``) are numbers in the
whole file, as ``marcd.frame`` and ``marcctl dump`` give them: each
partition is renumbered by the records of the file's partitions before it
(a small task adding up their counts).  A task reads its partition through
one marcd connection (:func:`read_part`): the host's daemon when
:class:`MarcdPlugin` is registered on the workers, else a private daemon
for the task (as ``marcd.read`` starts one).  What crosses the network is
what the tasks return: columns of values (pandas frames) or partitions of
records.

A partition of records is a :class:`marcd._part.Part`: the chunks the
daemon parsed for it, copied out of shared memory, and records made from
them only when read (``bag.count()`` makes none).  It pickles as those
chunks' bytes, so moving one between workers or to the client costs what
copying its parsed bytes costs; records are rebuilt, read-only and
complete, wherever it is unpickled.  A record pickled on its own is pickled
as ``marcd.Record`` pickles one.

Needs dask (and distributed for the plugin) and pandas for the frames.
"""

import copyreg
import glob
import os
import socket as _socket
import threading
from operator import itemgetter

import dask
import dask.bag
from dask.utils import parse_bytes

from . import _frame, _hostd
from ._chunk import Store
from ._client import Client
from ._embedded import Daemon
from ._errors import MarcError, ServiceError, marc_error
from ._errors import _CLASSES as _ERROR_CLASSES
from ._part import Part

__all__ = ["read_marc", "read_marc_values", "read_errors", "MarcdPlugin",
           "register", "partitions", "read_part"]

ERRORS = ("collect", "raise")
_TASK_ARENA = "64M"
_sources = {}       # collection name -> its read tasks, for read_errors
_SOURCES_KEPT = 256


# -- pickling errors --------------------------------------------------------
def _reduce_error(e):
    # A task's MarcError reaches the client pickled; its record stays.
    return marc_error, (e.code, e.offset, e.recno)


for _cls in {MarcError, *_ERROR_CLASSES.values()}:
    if not any(k in vars(_cls) for k in ("__reduce__", "__reduce_ex__",
                                         "__getstate__", "__getnewargs__")):
        copyreg.pickle(_cls, _reduce_error)


# -- what a partition weighs ------------------------------------------------
try:
    from dask.sizeof import sizeof as _sizeof
    # Its parsed bytes: Dask's default (a small Python object) would make a
    # partition look free to move, and the scheduler would ship partitions
    # to other workers to renumber them instead of renumbering them where
    # they are.
    _sizeof.register(Part)(lambda part: 64 + part.nbytes)
except ImportError:         # an old dask: its estimate stays
    pass


# -- partitions -------------------------------------------------------------
def expand(paths):
    """Files of a path, a glob, or a list of them, in order."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in paths:
        p = os.fspath(p)
        hits = sorted(glob.glob(p)) if glob.has_magic(p) else [p]
        if not hits:
            raise FileNotFoundError("no file matches %r" % (p,))
        out.extend(hits)
    return out


# gzip, bzip2, xz, zstd, and UTF-16 after its byte order mark (LE, BE):
# a stream the daemon decodes from its start only.
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd",
               b"\xff\xfe", b"\xfe\xff")


def splittable(path):
    """Whether byte ranges of a file can be read on their own: any plain
    file (ISO 2709, MARCXML, MARC-in-JSON, JSON Lines, .mrk all have record
    boundaries the daemon finds); not a compressed or UTF-16 one."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    return not any(head.startswith(m) for m in _COMPRESSED)


def partitions(paths, blocksize="128 MiB"):
    """The partitions: a list of (path, offset, length).

    The one place that decides them.  Each file of more than ``blocksize``
    bytes becomes ceil(size / blocksize) byte ranges (a range owns the
    records whose first byte lies in it); a smaller file, a compressed or
    UTF-16 one (:func:`splittable`) or any file when ``blocksize`` is None
    is one partition (offset 0, length None: the whole file).
    """
    if blocksize is not None:
        blocksize = parse_bytes(blocksize)
        if blocksize <= 0:
            raise ValueError("blocksize must be positive")
    out = []
    for path in expand(paths):
        size = os.path.getsize(path)
        if blocksize is None or size <= blocksize or not splittable(path):
            out.append((path, 0, None))
            continue
        out.extend((path, off, min(blocksize, size - off))
                   for off in range(0, size, blocksize))
    return out


def open_part(client, path, offset=0, length=None, charset="auto",
              strict=False, from_=None):
    """Submit one partition to a daemon; returns the Batch.

    (offset 0, length None) is the whole file; else the byte range, its
    record numbers counted from the range's first record.
    """
    if offset == 0 and length is None:
        return client.submit(path, charset=charset, strict=strict,
                             from_=from_)
    return client.submit(path, charset=charset, strict=strict,
                         offset=offset, length=length, from_=from_)


# -- which daemon a task uses -----------------------------------------------
_attached = {}      # worker address -> host daemon socket (MarcdPlugin)


def _host_socket():
    try:
        from distributed import get_worker
        w = get_worker()
    except (ImportError, ValueError, RuntimeError):
        return None
    return _attached.get(w.address)


_idle = {}          # host daemon socket -> connections no task is using
_idle_lock = threading.Lock()


def _take_idle(sock):
    with _idle_lock:
        conns = _idle.get(sock)
        return conns.pop() if conns else None


def _drop_idle(sock):
    # The worker leaves the host's daemon: its kept connections go too.
    with _idle_lock:
        conns = _idle.pop(sock, [])
    for c in conns:
        c.close()


class _TaskClient:
    """A client for one task: the host's daemon, else a private one.

    A connection to the host's daemon is kept for the worker's next task
    when this one ends without an error: a new connection maps the arena
    afresh, and a task then faults in every page it reads (measured: a
    third of a values task's CPU time).
    """

    def __init__(self, daemon_workers=1):
        self.daemon = None
        self.sock = _host_socket()
        self.reused = False
        if self.sock is not None:
            self.client = _take_idle(self.sock)
            self.reused = self.client is not None
            if self.client is None:
                self.client = Client(self.sock, connect_timeout=10.0)
        else:
            self.daemon = Daemon(daemon_workers, _TASK_ARENA).start()
            try:
                self.client = self.daemon.client()
            except BaseException:
                self.daemon.stop()
                raise

    def __enter__(self):
        return self

    def submit(self, path, offset, length, charset, strict, from_):
        """open_part() on the task's connection; a kept connection the
        daemon has dropped since (restarted) is replaced once."""
        try:
            return open_part(self.client, path, offset, length, charset,
                             strict, from_)
        except ServiceError:
            if not self.reused:
                raise
        self.client.close()
        self.reused = False
        self.client = Client(self.sock, connect_timeout=10.0)
        return open_part(self.client, path, offset, length, charset,
                         strict, from_)

    def __exit__(self, exc_type, *exc):
        conn = self.client._conn
        if (exc_type is None and self.daemon is None and
                not conn.closed and _host_socket() == self.sock):
            # Records still in shared memory are copied out, as closing
            # would, and the connection waits for the next task.
            with conn.lock:
                conn.detach_all()
            conn.store = None
            with _idle_lock:
                _idle.setdefault(self.sock, []).append(self.client)
            return
        try:
            self.client.close()
        finally:
            if self.daemon is not None:
                self.daemon.stop()


def read_part(path, offset=0, length=None, what="records", columns=None,
              repeated="first", charset="auto", errors="collect",
              fields=None, daemon_workers=1, from_=None):
    """Read one partition in a task: (payload, error rows, record numbers
    used).

    `what` is "records" (a :class:`marcd._part.Part` of records, or a
    list of MARC-in-JSON dicts of `fields` only) or "values" (a pandas DataFrame of `columns`).  Error
    rows are (file, offset, recno, code, message) tuples.  Record numbers
    count from the partition's start (see :func:`renumber`).
    """
    rows = []
    used = 0
    with _TaskClient(daemon_workers) as tc:
        if what == "records" and fields is None:
            tc.client._conn.store = Store()     # all its chunks are kept
        batch = tc.submit(path, offset, length, charset,
                          errors == "raise", from_)
        if what == "values":
            acc = _frame.Columns(columns, repeated, file=path)
        else:
            acc = []        # chunks, or dicts of `fields`
        for c in batch.chunks():
            if len(c):
                used = max(used, c[len(c) - 1].recno)
            if c.nerrors:
                rows.extend(_frame.error_rows(_frame.chunk_errors(c), path))
                used = max(used, rows[-1][2])
            if what == "values":
                acc.add(c)
            elif fields is None:
                acc.append(c)
            else:
                acc.extend(_only(r, fields) for r in c)
    # The chunks are out of shared memory (copied out or given back).
    if what == "values":
        payload = acc.frame()
    elif fields is None:
        payload = Part(acc)
    else:
        payload = acc
    return payload, rows, used


def count_part(path, offset=0, length=None, charset="auto",
                errors="collect", daemon_workers=1, from_=None):
    """Count one partition's records in a task: each chunk is given back as
    soon as counted, nothing copied out of shared memory or made."""
    n = 0
    with _TaskClient(daemon_workers) as tc:
        batch = tc.submit(path, offset, length, charset, errors == "raise",
                          from_)
        for c in batch.chunks():
            n += len(c)
            del c
    return n


class _MarcBag(dask.bag.Bag):
    """What read_marc gives: a Bag whose ``count()`` is the sum of
    count_part tasks (the same number, without copying the records out of
    shared memory).  Bags derived from it (filter, map, persist...) count
    as any Bag does: they lack the counts."""

    def count(self, split_every=None):
        counts = self.__dict__.get("_marcd_counts")
        if counts is None:
            return super().count(split_every=split_every)
        return dask.bag.Item.from_delayed(
            dask.delayed(sum, pure=True)(counts))


def renumber(part, *before):
    """A partition read by :func:`read_part` with its record numbers made
    numbers in the whole file: ``before`` are the record numbers the file's
    earlier partitions used.  A new payload: the read's is left alone."""
    base = sum(before)
    payload, rows, used = part
    if not base:
        return part
    rows = [(f, off, recno + base, code, msg)
            for f, off, recno, code, msg in rows]
    if isinstance(payload, Part):
        payload = payload.shifted(base)
    elif not isinstance(payload, list):
        payload = payload.assign(recno=payload["recno"] + base)
    return payload, rows, used


def _used(part):
    return part[2]


def _only(rec, fields):
    d = rec.as_dict()
    d["fields"] = [f for f in d["fields"] if next(iter(f)) in fields]
    return d


def _check(errors, charset, from_=None):
    if errors not in ERRORS:
        raise ValueError("errors is 'collect' or 'raise', not %r"
                         % (errors,))
    from ._client import charset_code, from_code
    charset_code(charset)
    from_code(from_)


def _remember(name, parts):
    # The newest collections only: read_errors is called soon after.
    _sources[name] = parts
    while len(_sources) > _SOURCES_KEPT:
        del _sources[next(iter(_sources))]


def _parts(ranges, **kw):
    """The read tasks of ``partitions()``' ranges, renumbered: partition k
    of a file depends on the record counts (not the records) of the file's
    partitions before it."""
    read = dask.delayed(read_part, pure=True)
    fix = dask.delayed(renumber, pure=True)
    count = dask.delayed(_used, pure=True)
    out = []
    counts = []
    last = None
    for path, off, length in ranges:
        if path != last:
            counts = []
            last = path
        part = read(path, off, length, **kw)
        out.append(fix(part, *counts) if counts else part)
        counts.append(count(part))
    return out


def read_marc(paths, blocksize="128 MiB", fields=None, charset="auto",
              errors="collect", daemon_workers=1, from_=None):
    """The records of MARC files as a dask.bag.Bag.

    `paths`: a path, a glob or a list of them.  One partition per
    `blocksize` bytes of each file (per file if compressed or UTF-16);
    `from_`: the files' format ('iso2709', 'marcxml', 'marcjson', 'mrk';
    None: by each file's first bytes).  Records are the
    package's read-only records (picklable), made when a partition is
    iterated (``count()`` reads counts only: it makes and copies none);
    with `fields` (a list of tags) each is instead its MARC-in-JSON dict
    (as ``rec.as_dict()``) keeping the leader and those fields only.
    `errors`: "collect" (bad input never fails a task; see read_errors) or
    "raise" (the first error fails the task).  `daemon_workers`: readers
    of a task's private daemon, when MarcdPlugin is not registered.
    """
    _check(errors, charset, from_)
    if fields is not None:
        fields = frozenset(fields)
    ranges = partitions(paths, blocksize)
    parts = _parts(ranges, what="records", charset=charset,
                   errors=errors, fields=fields,
                   daemon_workers=daemon_workers, from_=from_)
    first = itemgetter(0)
    bag = dask.bag.from_delayed([dask.delayed(first, pure=True)(p)
                                 for p in parts])
    _remember(bag.name, parts)
    bag = _MarcBag(bag.dask, bag.name, bag.npartitions)
    count = dask.delayed(count_part, pure=True)
    bag._marcd_counts = [
        count(path, off, length, charset=charset, errors=errors,
              daemon_workers=daemon_workers, from_=from_)
        for path, off, length in ranges]
    return bag


def read_marc_values(paths, columns=None, blocksize="128 MiB",
                     repeated="first", charset="auto", errors="collect",
                     daemon_workers=1, from_=None):
    """Values of MARC files as a dask.dataframe.DataFrame, a row a record.

    `columns` is {name: (tag, code)} as for ``marcd.frame`` (default: id,
    title, isbn, author); `repeated` "first" (a str or None a cell) or
    "list" (every value: a list a cell).  Plus ``file``, ``offset`` (byte
    offset in the file) and ``recno`` (1-based number in the file).  Built
    from the bulk values calls of each chunk.  Other arguments as for
    read_marc.
    """
    import dask.dataframe as dd
    _check(errors, charset, from_)
    columns = _frame.check_columns(columns, repeated)
    parts = _parts(partitions(paths, blocksize), what="values",
                   columns=columns, repeated=repeated, charset=charset,
                   errors=errors, daemon_workers=daemon_workers, from_=from_)
    meta = _frame.make_frame({name: [] for name in columns}, [], [], None)
    first = itemgetter(0)
    df = dd.from_delayed([dask.delayed(first, pure=True)(p) for p in parts],
                         meta=meta, verify_meta=False)
    _remember(df._name, parts)
    return df


def read_errors(source, blocksize="128 MiB", charset="auto",
                daemon_workers=1):
    """The errors of MARC input as a dask DataFrame (file, offset, recno,
    code, message), one row an error, in input order.

    `source`: a collection read_marc or read_marc_values returned (its
    read tasks are shared: computed together with it, the files are read
    once), or paths (read for their errors alone).
    """
    import dask.dataframe as dd
    name = getattr(source, "_name", None) or getattr(source, "name", None)
    parts = _sources.get(name) if isinstance(name, str) else None
    if parts is None:
        if not isinstance(source, (str, os.PathLike, list, tuple)):
            raise TypeError("read_errors takes what read_marc or "
                            "read_marc_values returned, or paths")
        parts = _parts(partitions(source, blocksize), what="values",
                       columns={}, repeated="first", charset=charset,
                       errors="collect", daemon_workers=daemon_workers)
    meta = _frame.errors_frame([])
    return dd.from_delayed(
        [dask.delayed(_errors_of, pure=True)(p) for p in parts],
        meta=meta, verify_meta=False)


def _errors_of(part):
    return _frame.errors_frame(part[1])


# -- one daemon per host ----------------------------------------------------
def host_key(host):
    """The per-host key: the machine's name and the worker's address.

    Workers of one machine normally bind one address, so this is one
    daemon per machine; workers bound to different addresses of one
    machine (as the tests do, to play several hosts) get one each.
    """
    return "%s-%s" % (_socket.gethostname(), host)


def _worker_host(address):
    # "tcp://127.0.0.2:4321" -> "127.0.0.2"
    rest = address.split("://", 1)[-1]
    return rest.rsplit(":", 1)[0].strip("[]")


try:
    from distributed.diagnostics.plugin import WorkerPlugin as _Base
except ImportError:         # dask without distributed: no plugin
    _Base = object


class MarcdPlugin(_Base):
    """A Dask worker plugin: one marcd per host for all its workers.

    ``client.register_worker_plugin(MarcdPlugin())`` (or :func:`register`).
    On each host, the first worker to set up starts marcd with ``workers``
    readers (default: the host's cores) and a ``arena_size`` arena; the
    others attach to it; it stops when the host's last worker goes (also
    when workers are killed).  The host is keyed by :func:`host_key`, the
    lock files are in ``$MARCD_HOST_DIR`` or ``<tmp>/marcd-host-<uid>``
    (see marcd._hostd).  Tasks on a worker without the plugin start a
    private daemon each.
    """

    name = "marcd"

    def __init__(self, workers=None, arena_size="256M"):
        self.workers = workers
        self.arena_size = arena_size
        self._att = None
        self._addr = None

    def setup(self, worker):
        key = host_key(_worker_host(worker.address))
        self._att = _hostd.attach(key, self.workers, self.arena_size)
        self._addr = worker.address
        _attached[worker.address] = self._att.socket

    def teardown(self, worker):
        sock = _attached.pop(self._addr, None)
        if sock is not None and sock not in _attached.values():
            _drop_idle(sock)
        if self._att is not None:
            self._att.detach()
            self._att = None


def register(client, plugin=None):
    """Register MarcdPlugin (or `plugin`) on every worker of `client`, now
    and those that join later; raises if any worker failed to set it up."""
    plugin = plugin or MarcdPlugin()
    if hasattr(client, "register_plugin"):
        res = client.register_plugin(plugin)
    else:
        res = client.register_worker_plugin(plugin)
    bad = {w: r for w, r in (res or {}).items()
           if isinstance(r, dict) and r.get("status") != "OK"}
    if bad:
        raise RuntimeError("MarcdPlugin failed on %s" % (bad,))
    return res
