"""Embedded mode: a private marcd for one read, started and stopped here.

``read()`` without ``socket=`` starts ``marcd`` in a temporary directory of
its own (socket, log), in its own process group (so a terminal's Ctrl-C
reaches only Python, which then stops it) and with the parent-death signal
set (so it goes away if Python is killed outright; the signal comes when
the thread that started it ends, so finish a read in that thread).  It is
stopped (SIGTERM, SIGKILL after 5 s, reaped, directory removed) when
iteration ends, on any exception including KeyboardInterrupt, when the
generator is closed or collected, and at interpreter exit for generators
never finished.  If Python itself is killed, the daemon goes but its
directory stays; the next start removes such directories.
"""

import atexit
import ctypes
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time

from . import _lib
from ._client import Client
from ._errors import ServiceError

_PREFIX = "marcd-py-"
E_SYSTEM = -1
E_CONNECT = -2
_STOP_WAIT = 5.0
_START_WAIT = 10.0

_live = set()
_live_lock = threading.Lock()


def _set_pdeathsig():
    # In the child between fork and exec: die with the parent.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)   # PR_SET_PDEATHSIG
    except Exception:
        pass


def _sweep_stale(age=60.0):
    # A Python killed outright (SIGKILL, or SIGTERM left to its default)
    # cannot remove its daemon's directory; the daemon, gone with it,
    # removed its socket.  Such directories of ours, without a socket and
    # not new, are litter: remove them.
    tmp = tempfile.gettempdir()
    now = time.time()
    try:
        names = [n for n in os.listdir(tmp) if n.startswith(_PREFIX)]
    except OSError:
        return
    for n in names:
        d = os.path.join(tmp, n)
        try:
            st = os.lstat(d)
            if (not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid()
                    or now - st.st_mtime < age
                    or os.path.lexists(os.path.join(d, "marcd.sock"))):
                continue
            shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


class Daemon:
    """A private marcd: ``start()``, ``socket``, ``stop()``."""

    def __init__(self, workers=None, arena_size="256M", block_size=None,
                 binary=None):
        self.binary = binary or _lib.find_daemon()
        if not self.binary:
            raise ServiceError(E_CONNECT, "no marcd binary: set MARCD_BIN "
                               "or put marcd on PATH")
        if workers is None:
            workers = max(1, (os.cpu_count() or 2) - 1)
        self.workers = int(workers)
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        self.arena_size = str(arena_size)
        self.block_size = block_size
        self.dir = None
        self.proc = None
        self.socket = None
        self.log = None

    def start(self):
        _sweep_stale()
        self.dir = tempfile.mkdtemp(prefix=_PREFIX)
        with _live_lock:
            _live.add(self)
        try:
            self.socket = os.path.join(self.dir, "marcd.sock")
            self.log = os.path.join(self.dir, "marcd.log")
            args = [self.binary, "--socket", self.socket,
                    "--workers", str(self.workers),
                    "--arena-size", self.arena_size, "--log", self.log]
            if self.block_size:
                args += ["--block-size", str(self.block_size)]
            with open(self.log, "ab") as err:
                self.proc = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    close_fds=True, process_group=0,
                    preexec_fn=_set_pdeathsig)
        except OSError as e:
            self.stop()
            raise ServiceError(E_SYSTEM, "cannot start %s: %s"
                               % (self.binary, e)) from None
        except BaseException:
            self.stop()
            raise
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self, tenant=None, max_pinned=8):
        """Connect, waiting until the daemon's socket accepts."""
        try:
            return Client(self.socket, tenant, max_pinned=max_pinned,
                          connect_timeout=_START_WAIT, _alive=self.alive)
        except ServiceError as e:
            raise ServiceError(e.code, "%s; marcd log: %s"
                               % (e.text, self.log_tail())) from None

    def log_tail(self, n=400):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace").strip()
        except OSError:
            return "(no log)"

    def _stop_steps(self):
        p = self.proc
        if p is not None:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(_STOP_WAIT)
                except subprocess.TimeoutExpired:
                    # Its workers share the process group we made for it:
                    # kill them with it, before it is reaped.
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        p.kill()
                    p.wait()
            self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        with _live_lock:
            _live.discard(self)

    def stop(self):
        """Stop the daemon and remove its directory; safe to call twice."""
        interrupted = None
        for _ in range(10):
            try:
                self._stop_steps()
                break
            except KeyboardInterrupt as e:   # finish cleaning up first
                interrupted = e
        if interrupted is not None:
            raise interrupted

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@atexit.register
def _stop_all():
    with _live_lock:
        daemons = list(_live)
    for d in daemons:
        try:
            d.stop()
        except BaseException:
            pass


def read(source, workers=None, charset="auto", strict=False, socket=None,
         tenant=None, arena_size="256M", errors=None, offset=None,
         length=None, from_=None):
    """Iterate the records of a MARC file (path, binary file object or bytes).

    ``for rec in marcd.read("file.mrc", workers=4): ...``

    Without ``socket`` a private daemon with ``workers`` reader processes
    is started for the read and stopped when it ends (see the module
    doc); with ``socket`` the daemon there is used.  ``charset``: 'auto'
    (leader/09, but valid UTF-8 under a blank is UTF-8), 'marc8' or 'utf8'.
    ``strict``: raise the first error (MarcError subclass) instead of
    going on.  ``errors``: a list to append the errors of bytes that held
    no record to (a record's own errors are on ``rec.errors``).
    ``offset``/``length``: only the records whose first byte lies in that
    byte range (``length`` None: to the end; marcctl's ``--range``), record
    numbers from the range's first record.  ``from_``: the input's format
    ('iso2709', 'marcxml', 'marcjson', 'mrk'; None: by its first bytes).
    """
    daemon = None
    client = None
    try:
        if socket is None:
            daemon = Daemon(workers, arena_size).start()
            client = daemon.client(tenant)
        else:
            client = Client(socket, tenant)
        batch = client.submit(source, charset=charset, strict=strict,
                              offset=offset, length=length, from_=from_)
        batch._closing_client = True    # the client goes away with it
        try:
            yield from batch
        finally:
            if errors is not None:
                errors.extend(batch.errors)
    finally:
        try:
            if client is not None:
                client.close()
        finally:
            if daemon is not None:
                daemon.stop()
