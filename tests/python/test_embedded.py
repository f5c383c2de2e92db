"""Embedded mode: marcd.read() starts a private daemon and leaves nothing
behind (no process, socket or temporary directory) however the loop ends:
normally, by break, by an exception, by SIGINT (Ctrl-C), or abandoned until
exit.  Each case runs in a child python whose TMPDIR is a fresh directory
of ours, so whatever it leaves behind is ours to see."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import marcdtest as T
import marcd

CHILD = textwrap.dedent("""
    import os, signal, sys, time, marcd

    # Ctrl-C as at a terminal, even when the tests run as a background
    # job (which starts with SIGINT ignored, and so would this child).
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def children():
        out = set()
        for t in os.listdir("/proc/self/task"):
            with open("/proc/self/task/%s/children" % t) as f:
                out.update(int(p) for p in f.read().split())
        return out

    def report(tag):
        print(tag, " ".join(map(str, sorted(children()))),
              "|", " ".join(sorted(os.listdir(os.environ["TMPDIR"]))),
              flush=True)

    how, path = sys.argv[1], sys.argv[2]
    n = 0
    try:
        if how == "normal":
            for rec in marcd.read(path, workers=1):
                if n == 0:
                    report("during")
                n += 1
        elif how == "break":
            for rec in marcd.read(path, workers=1):
                report("during")
                break
        elif how == "exception":
            try:
                for rec in marcd.read(path, workers=1):
                    report("during")
                    raise ValueError("boom")
            except ValueError:
                pass
        elif how == "sigint":
            for rec in marcd.read(path, workers=1):
                if n == 0:
                    report("during")
                n += 1
                time.sleep(0.01)
        elif how == "abandoned":
            g = marcd.read(path, workers=1)
            next(g)
            report("during")
            sys.exit(0)          # g still referenced: atexit stops it
        elif how == "socket":
            for rec in marcd.read(path, socket=sys.argv[3]):
                if n == 0:
                    report("during")
                n += 1
        elif how == "sigkill":
            for rec in marcd.read(path, workers=1):
                report("during")
                time.sleep(60)
    except KeyboardInterrupt:
        report("interrupted")
        sys.exit(130)
    report("after")
    print("records", n, flush=True)
""")


def parse(line):
    tag, rest = line.split(" ", 1)
    pids, files = rest.split("|")
    return tag, {int(p) for p in pids.split()}, files.split()


class Embedded(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="marcd-pytest-tmp-")
        self.big, self.nbig = T.big_file(20000)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, how, path, *extra):
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, how, path] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=T.child_env(TMPDIR=self.tmp), text=True)

    def leftovers(self):
        procs = [c for p, c in T.proc_cmdlines().items()
                 if self.tmp in c and p != os.getpid()]
        return procs, os.listdir(self.tmp)

    def assert_clean(self, during_pids, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            procs, files = self.leftovers()
            alive = [p for p in during_pids if os.path.exists("/proc/%d" % p)]
            if not (procs or files or alive) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(procs, [], "daemon processes left behind")
        self.assertEqual(alive, [], "processes left behind")
        self.assertEqual(files, [], "files left in TMPDIR")

    def run_case(self, how, path, *extra, want_rc=0):
        p = self.start(how, path, *extra)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, want_rc, err)
        lines = [parse(l) for l in out.splitlines() if "|" in l]
        tag, pids, files = lines[0]
        self.assertEqual(tag, "during")
        return lines, out

    def check_ran_daemon(self, pids, files):
        self.assertEqual(len(pids), 1, "one daemon child while reading")
        self.assertEqual(len(files), 1)
        self.assertTrue(files[0].startswith("marcd-py-"))

    def test_normal_end(self):
        lines, out = self.run_case("normal", self.big)
        _, pids, files = lines[0]
        self.check_ran_daemon(pids, files)
        self.assertEqual(lines[-1][1:], (set(), []))    # after the loop
        self.assertIn("records %d" % self.nbig, out)
        self.assert_clean(pids)

    def test_break(self):
        lines, _ = self.run_case("break", self.big)
        self.check_ran_daemon(lines[0][1], lines[0][2])
        self.assertEqual(lines[-1][1:], (set(), []))
        self.assert_clean(lines[0][1])

    def test_exception_in_loop(self):
        lines, _ = self.run_case("exception", self.big)
        self.check_ran_daemon(lines[0][1], lines[0][2])
        self.assertEqual(lines[-1][1:], (set(), []))
        self.assert_clean(lines[0][1])

    def test_abandoned_generator(self):
        lines, _ = self.run_case("abandoned", self.big)
        self.check_ran_daemon(lines[0][1], lines[0][2])
        self.assert_clean(lines[0][1])

    def test_sigint(self):
        p = self.start("sigint", self.big)
        try:
            tag, pids, files = parse(p.stdout.readline())
            self.assertEqual(tag, "during")
            self.check_ran_daemon(pids, files)
            time.sleep(0.2)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 130, err)
        tag, after, left = parse(out.splitlines()[0])
        self.assertEqual((tag, after, left), ("interrupted", set(), []))
        self.assert_clean(pids)

    def test_parent_killed(self):
        # SIGKILL leaves Python no chance to clean up: the daemon still
        # goes (parent-death signal); its directory is left, ours to remove.
        p = self.start("sigkill", self.big)
        try:
            tag, pids, files = parse(p.stdout.readline())
            self.check_ran_daemon(pids, files)
            p.kill()
            p.wait(10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()
        deadline = time.monotonic() + 10
        while (any(os.path.exists("/proc/%d" % q) for q in pids)
               and time.monotonic() < deadline):
            time.sleep(0.05)
        procs, _ = self.leftovers()
        self.assertEqual(procs, [])

    def test_socket_uses_that_daemon(self):
        lines, out = self.run_case("socket", self.big, T.daemon().socket)
        _, pids, files = lines[0]
        self.assertEqual(pids, set())         # no daemon of its own
        self.assertEqual(files, [])
        self.assertIn("records %d" % self.nbig, out)

    def test_in_process(self):
        # The same, in this process: records equal the reference.
        path = T.valid_files()[0]
        before = set(os.listdir(tempfile.gettempdir()))
        got = [r.as_dict() for r in marcd.read(path, workers=1)]
        self.assertEqual(got, T.dump_json(path))
        after = set(os.listdir(tempfile.gettempdir()))
        self.assertEqual({f for f in after - before
                          if f.startswith("marcd-py-")}, set())

    def test_records_kept_after_read(self):
        # The daemon is gone, the records still read.
        path = T.valid_files()[0]
        recs = list(marcd.read(path, workers=1))
        self.assertEqual([r.as_dict() for r in recs], T.dump_json(path))

    def test_errors_list_and_strict(self):
        rec = T.first_record_bytes(os.path.join(
            T.VALID, "folio-integration-tests__FAT-1117.mrc"))
        errs = []
        recs = list(marcd.read(rec + rec + b"JUNK", workers=1, errors=errs))
        self.assertEqual(len(recs), 2)
        self.assertEqual([type(e) for e in errs], [marcd.JunkError])
        with self.assertRaises(marcd.JunkError):
            for r in marcd.read(rec + b"JUNK", workers=1, strict=True):
                pass

    def test_stale_directories_swept(self):
        # What a killed Python leaves (a directory with a log, no socket)
        # goes at the next start once old; a new one, or one with a
        # socket, stays.
        code = textwrap.dedent("""
            import os, sys, time, marcd
            tmp = os.environ["TMPDIR"]
            for name, sock, age in (("marcd-py-old", False, 600),
                                    ("marcd-py-new", False, 0),
                                    ("marcd-py-live", True, 600)):
                d = os.path.join(tmp, name)
                os.mkdir(d)
                open(os.path.join(d, "marcd.log"), "w").close()
                if sock:
                    open(os.path.join(d, "marcd.sock"), "w").close()
                t = time.time() - age
                os.utime(d, (t, t))
            for r in marcd.read(sys.argv[1], workers=1):
                pass
            print(" ".join(sorted(os.listdir(tmp))))
        """)
        p = subprocess.run([sys.executable, "-c", code, T.valid_files()[0]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=T.child_env(TMPDIR=self.tmp), text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ["marcd-py-live", "marcd-py-new"])

    def test_no_daemon_binary(self):
        d = marcd.Daemon(binary="/nonexistent/marcd")
        with self.assertRaises(marcd.ServiceError) as cm:
            d.start()
        self.assertIn("/nonexistent/marcd", str(cm.exception))
        self.assertIsNone(d.dir)                 # its directory is gone


if __name__ == "__main__":
    unittest.main()
