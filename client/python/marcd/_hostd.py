"""One marcd per host, shared by every process of the host that attaches.

For Dask (marcd.dask.MarcdPlugin) and anything else that runs many reader
processes on one machine: each process calls :func:`attach` and gets the
socket of the host's daemon, started by whichever comes first.

Everything lives in a per-host directory, ``$MARCD_HOST_DIR`` or
``<tmp>/marcd-host-<uid>``, then one subdirectory per key (``lock``,
``users``, ``watcher.lock``, ``marcd.sock``, ``marcd.log``).  The
counting is done by the kernel's flock(2) locks, so that a process killed
outright (SIGKILL) is counted out like one that detached:

* ``lock``: held exclusively while attaching and while tearing down.
* ``users``: every attached process holds a shared lock on it for as long
  as it is attached (the reference count, kept by the kernel).
* ``watcher.lock``: held exclusively by the watcher, a small process
  (``python -m marcd._hostd``) the first attacher starts in a session of
  its own.  The watcher starts marcd (which dies with it: parent-death
  signal) with ``--workers`` = the host's cores, restarts it if it dies,
  and waits for an exclusive lock on ``users``: it gets it when the last
  attached process has gone, and then, under ``lock``, stops marcd and
  removes the socket.

A process attaching while the watcher tears down finds ``users`` locked
exclusively, lets go of ``lock`` and tries again; the next watcher is
started once the old one has gone.
"""

import fcntl
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

_START_WAIT = 30.0
_STOP_WAIT = 5.0
_RESTARTS = 3


def root_dir():
    """Where the per-host directories are (created 0700)."""
    d = os.environ.get("MARCD_HOST_DIR") or os.path.join(
        tempfile.gettempdir(), "marcd-host-%d" % os.getuid())
    os.makedirs(d, 0o700, exist_ok=True)
    return d


def key_dir(key):
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key)
    d = os.path.join(root_dir(), safe or "_")
    os.makedirs(d, 0o700, exist_ok=True)
    return d


def _open(path):
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _held(path):
    """Whether some process holds an exclusive lock on path."""
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Attachment:
    """A process's share of its host's daemon: ``socket``, ``detach()``."""

    def __init__(self, key, directory, socket, users_fd):
        self.key = key
        self.dir = directory
        self.socket = socket
        self._fd = users_fd

    def detach(self):
        """Let go; the last to let go has the daemon stopped."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()


def attach(key, workers=None, arena_size="256M", timeout=_START_WAIT):
    """Attach to the daemon of host `key`, starting it if there is none.

    `workers` (default: this host's cores) and `arena_size` apply only if
    this call starts it.  Returns an Attachment; raises ServiceError when
    the daemon cannot be started.
    """
    from ._errors import ServiceError
    d = key_dir(key)
    deadline = time.monotonic() + timeout
    while True:
        lk = _open(os.path.join(d, "lock"))
        try:
            fcntl.flock(lk, fcntl.LOCK_EX)
            users = _open(os.path.join(d, "users"))
            try:
                fcntl.flock(users, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(users)     # the watcher is tearing down
                users = None
            if users is not None:
                try:
                    if not _held(os.path.join(d, "watcher.lock")):
                        _start_watcher(d, workers or cores(), arena_size,
                                       deadline)
                except BaseException:
                    os.close(users)
                    raise
                return Attachment(key, d, os.path.join(d, "marcd.sock"),
                                  users)
        finally:
            os.close(lk)
        if time.monotonic() > deadline:
            raise ServiceError(-2, "marcd for host %s: still stopping "
                               "after %.0f s" % (key, timeout))
        time.sleep(0.05)


def _start_watcher(d, workers, arena_size, deadline):
    # Under `lock`: no watcher runs.  Start one and wait for its word.
    from ._errors import ServiceError
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg + (os.pathsep + env["PYTHONPATH"]
                               if env.get("PYTHONPATH") else "")
    with open(os.path.join(d, "watcher.log"), "ab") as log:
        p = subprocess.Popen(
            [sys.executable, "-m", "marcd._hostd", d, str(workers),
             str(arena_size)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=log, env=env, close_fds=True,
            start_new_session=True)
    word = b""
    try:
        while not word.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
                break
            more = os.read(p.stdout.fileno(), 4096)
            if not more:
                break
            word += more
    finally:
        p.stdout.close()
    if word.startswith(b"ready"):
        # The watcher goes on alone; reap it if it ends while we live.
        threading.Thread(target=p.wait, daemon=True).start()
        return
    if p.poll() is None:
        p.kill()
    p.wait()
    try:
        with open(os.path.join(d, "watcher.log"), "rb") as f:
            tail = f.read()[-400:].decode("utf-8", "replace").strip()
    except OSError:
        tail = ""
    raise ServiceError(-2, "cannot start marcd for this host (%s): %s"
                       % (word.decode("utf-8", "replace").strip()
                          or "no answer", tail))


class _Watcher:
    """The watcher process: marcd's parent while anyone is attached."""

    def __init__(self, d, workers, arena_size):
        from ._embedded import Daemon
        self.dir = d
        self.sock = os.path.join(d, "marcd.sock")
        self.spec = Daemon(workers, arena_size)     # binary, checks
        self.proc = None
        self.event = threading.Event()
        self.why = None

    def start_daemon(self):
        from ._client import Client
        from ._embedded import _set_pdeathsig
        for stale in (self.sock,):
            if os.path.lexists(stale):
                os.unlink(stale)
        log = os.path.join(self.dir, "marcd.log")
        args = [self.spec.binary, "--socket", self.sock, "--workers",
                str(self.spec.workers), "--arena-size", self.spec.arena_size,
                "--log", log]
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                close_fds=True, process_group=0, preexec_fn=_set_pdeathsig)
        Client(self.sock, connect_timeout=_START_WAIT,
               _alive=lambda: self.proc.poll() is None).close()
        threading.Thread(target=self._wait_daemon, args=(self.proc,),
                         daemon=True).start()

    def _wait_daemon(self, proc):
        proc.wait()
        self.why = self.why or "daemon"
        self.event.set()

    def _wait_users(self, fd):
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.why = "unused"
        self.event.set()

    def stop_daemon(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(_STOP_WAIT)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    p.kill()
                p.wait()
        if os.path.lexists(self.sock):
            os.unlink(self.sock)

    def run(self):
        wl = _open(os.path.join(self.dir, "watcher.lock"))
        fcntl.flock(wl, fcntl.LOCK_EX | fcntl.LOCK_NB)
        signal.signal(signal.SIGTERM, lambda *a: self._term())
        self.start_daemon()
        os.write(1, b"ready %d\n" % self.proc.pid)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        users = _open(os.path.join(self.dir, "users"))
        threading.Thread(target=self._wait_users, args=(users,),
                         daemon=True).start()
        restarts = 0
        while True:
            self.event.wait()
            if self.why != "daemon" or restarts >= _RESTARTS:
                break
            # marcd died with processes still attached: start it again
            # on the same socket, so that their next connection works.
            restarts += 1
            self.event.clear()
            self.why = None
            self.proc = None
            self.start_daemon()
        lk = _open(os.path.join(self.dir, "lock"))
        fcntl.flock(lk, fcntl.LOCK_EX)
        self.stop_daemon()
        for name in ("marcd.log", "watcher.log"):
            try:
                os.unlink(os.path.join(self.dir, name))
            except OSError:
                pass
        os.close(wl)
        os.close(lk)

    def _term(self):
        self.why = "terminated"
        self.event.set()


def main(argv):
    d, workers, arena = argv[1], int(argv[2]), argv[3]
    try:
        w = _Watcher(d, workers, arena)
    except Exception as e:
        os.write(1, b"error %s\n" % str(e).encode())
        return 1
    try:
        w.run()
    except BlockingIOError:
        os.write(1, b"error another watcher runs\n")
        return 1
    except Exception as e:
        w.stop_daemon()
        try:
            os.write(1, b"error %s\n" % str(e).encode())
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
