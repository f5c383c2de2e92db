"""marcd.dask on real Dask clusters, against `marcctl dump` of the same files.

Run by tests/python-dask.test with an interpreter that has dask,
distributed and pandas (skipped, saying why, where there is none).  All
network traffic stays on 127.0.0.0/8.
"""

import glob
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import marcdtest as T

try:
    import dask
    import distributed
    import pandas
except ImportError as e:
    raise unittest.SkipTest("no dask/distributed/pandas here (%s): "
                            "marcd.dask is not tested" % e)

import marcd
import marcd.dask as md

FILES = [os.path.join(T.VALID, "solrmarc__uva_001-200.mrc"),
         os.path.join(T.VALID, "solrmarc__summhld_1-1000.mrc"),
         os.path.join(T.MALFORMED, "pymarc__bad_records.mrc"),
         os.path.join(T.MALFORMED, "yaz__marc10.marc"),
         os.path.join(T.MALFORMED, "folio-integration-tests__FAT-21038.mrc")]
COLUMNS = {"id": ("001", None), "title": ("245", "a"),
           "isbn": ("020", "a"), "subjects": ("650", "a")}


def dump(path):
    """(records as MARC-in-JSON dicts, error rows) by `marcctl dump`."""
    p = subprocess.run([T.MARCCTL, "dump", "--format", "marcjson", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=False)
    if p.returncode not in (0, 1):
        raise RuntimeError("marcctl dump %s: exit %d" % (path, p.returncode))
    recs = [json.loads(line) for line in p.stdout.splitlines() if line]
    rows = []
    for line in p.stderr.decode("utf-8").splitlines():
        if line.endswith("more errors in this record not shown"):
            continue        # a count (rec.errors_lost), not an error
        # FILE:OFFSET: record N: CODE: message
        head, rec, code, msg = line[len(path) + 1:].split(": ", 3)
        rows.append((path, int(head), int(rec.split()[1]), code, msg))
    return recs, rows


def first(rec, tag, code):
    """What the 'first' rule takes from a MARC-in-JSON record."""
    for f in rec["fields"]:
        if tag in f:
            v = f[tag]
            if code is None:
                return v if isinstance(v, str) else None
            if isinstance(v, str):
                return None
            for sf in v["subfields"]:
                if code in sf:
                    return sf[code]
            return None
    return None


def every(rec, tag, code):
    """What the 'list' rule takes from a MARC-in-JSON record."""
    out = []
    for f in rec["fields"]:
        v = f.get(tag)
        if v is None or isinstance(v, str) != (code is None):
            continue
        if code is None:
            out.append(v)
        else:
            out.extend(sf[code] for sf in v["subfields"] if code in sf)
    return out


REF = {}


def reference(files=FILES):
    """Per file: the records and errors marcctl dump gives (cached)."""
    for f in files:
        if f not in REF:
            REF[f] = dump(f)
    return REF


def want_values(files, repeated="first"):
    rows = []
    for f in files:
        for i, rec in enumerate(reference([f])[f][0]):
            row = {name: (first if repeated == "first" else every)(
                rec, tag, code) for name, (tag, code) in COLUMNS.items()}
            row["file"] = f
            row["recno"] = i + 1
            rows.append(row)
    return rows


def frame_rows(df):
    cols = list(COLUMNS) + ["file", "recno"]
    return [dict(zip(cols, r)) for r in
            df[cols].itertuples(index=False, name=None)]


def title_of(rec):
    f = rec.get("245")
    return None if f is None else f.get("a")


def our_processes(root):
    """pids of processes whose command line names `root`."""
    return sorted(pid for pid, cmd in T.proc_cmdlines().items()
                  if root in cmd and pid != os.getpid())


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def marcd_daemons(root):
    """{host key: [pids]} of the marcd daemons (supervisors) under `root`."""
    out = {}
    procs = T.proc_cmdlines()
    for pid, cmd in procs.items():
        words = cmd.split()
        if not words or os.path.basename(words[0]) != "marcd":
            continue
        if procs.get(_ppid(pid), "").split()[:1] == words[:1]:
            continue        # one of the daemon's reader processes
        if "--socket" in words:
            sock = words[words.index("--socket") + 1]
            if sock.startswith(root + os.sep):
                out.setdefault(os.path.basename(os.path.dirname(sock)),
                               []).append(pid)
    return out


def left_behind(root, shm_before):
    """What is left: processes, sockets, new /dev/shm entries."""
    socks = glob.glob(os.path.join(root, "*", "*.sock"))
    # Python's multiprocessing semaphores (sem.mp-*) are Dask's, and other
    # programs of the machine come and go: new entries, not those, count.
    shm = sorted(n for n in set(os.listdir("/dev/shm")) - shm_before
                 if not n.startswith("sem.mp-")) \
        if os.path.isdir("/dev/shm") else []
    return our_processes(root), socks, shm


def idle_connections():
    """How many connections to the host's daemon this worker keeps."""
    return sum(len(v) for v in md._idle.values())


def daemon_at(sock):
    """A private marcd (started, accepting) reached at the path `sock`,
    a link to its socket: a new one there looks like a restarted one."""
    d = marcd.Daemon(workers=1, arena_size="64M").start()
    d.client().close()
    if os.path.lexists(sock):
        os.unlink(sock)
    os.symlink(d.socket, sock)
    return d


class HostDir:
    """A private MARCD_HOST_DIR for a test, inherited by its workers."""

    def __enter__(self):
        self.root = tempfile.mkdtemp(prefix="marcd-dask-test-")
        self.old = os.environ.get("MARCD_HOST_DIR")
        os.environ["MARCD_HOST_DIR"] = self.root
        self.shm = set(os.listdir("/dev/shm")) \
            if os.path.isdir("/dev/shm") else set()
        return self

    def wait_clean(self, tc, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            left = left_behind(self.root, self.shm)
            if not any(left) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        tc.assertEqual(left, ([], [], []),
                       "left behind: processes, sockets, /dev/shm")

    def __exit__(self, *exc):
        if self.old is None:
            os.environ.pop("MARCD_HOST_DIR", None)
        else:
            os.environ["MARCD_HOST_DIR"] = self.old
        for pid in our_processes(self.root):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def same_as_dump(tc, bag, df):
    """The count, titles, errors and values of a bag and a frame of FILES
    computed together: what marcctl dump gives."""
    ref = reference()
    n, titles, rows, vals = dask.compute(
        bag.count(), bag.map(title_of), md.read_errors(bag), df)
    tc.assertEqual(n, sum(len(ref[f][0]) for f in FILES))
    tc.assertEqual(titles, [first(r, "245", "a") for f in FILES
                            for r in ref[f][0]])
    tc.assertEqual(list(rows.itertuples(index=False, name=None)),
                   [r for f in FILES for r in ref[f][1]])
    T.assert_same_list(tc, frame_rows(vals), want_values(FILES), "values")


class TestWithoutCluster(unittest.TestCase):
    """The same functions with no cluster: each task its own daemon."""

    def test_sync_scheduler(self):
        ref = reference()
        bag = md.read_marc(FILES)
        errs = md.read_errors(bag)
        n, titles, rows = dask.compute(bag.count(), bag.map(title_of), errs,
                                       scheduler="sync")
        self.assertEqual(n, sum(len(ref[f][0]) for f in FILES))
        self.assertEqual(titles, [first(r, "245", "a") for f in FILES
                                  for r in ref[f][0]])
        self.assertEqual(list(rows.itertuples(index=False, name=None)),
                         [r for f in FILES for r in ref[f][1]])

    def test_list_values_and_frame(self):
        df = md.read_marc_values(FILES, COLUMNS, repeated="list").compute(
            scheduler="sync")
        T.assert_same_list(self, frame_rows(df), want_values(FILES, "list"),
                           "list values")
        one = marcd.frame(FILES[0], COLUMNS, workers=1)
        T.assert_same_list(self, frame_rows(one), want_values(FILES[:1]),
                           "marcd.frame")

    def test_partitions(self):
        # Whole files under blocksize; ranges of blocksize bytes above it.
        self.assertEqual(md.partitions(FILES[:2]),
                         [(FILES[0], 0, None), (FILES[1], 0, None)])
        size = os.path.getsize(FILES[0])
        parts = md.partitions(FILES[0], blocksize=100000)
        self.assertEqual(parts, [(FILES[0], 0, 100000),
                                 (FILES[0], 100000, 100000),
                                 (FILES[0], 200000, size - 200000)])
        # A compressed file is read from its start: one partition.
        with tempfile.TemporaryDirectory() as d:
            gz = os.path.join(d, "f.mrc.gz")
            with open(FILES[0], "rb") as src, gzip.open(gz, "wb") as dst:
                dst.write(src.read() * 4)
            self.assertGreater(os.path.getsize(gz), 1000)
            self.assertEqual(md.partitions(gz, blocksize=1000),
                             [(gz, 0, None)])
            # So is UTF-16 (a byte order mark), either byte order.
            for bom, codec in ((b"\xff\xfe", "utf-16-le"),
                               (b"\xfe\xff", "utf-16-be")):
                u16 = os.path.join(d, "f.xml")
                with open(u16, "wb") as dst:
                    dst.write(bom + ("<collection>" + " " * 2000 +
                                     "</collection>").encode(codec))
                self.assertEqual(md.partitions(u16, blocksize=1000),
                                 [(u16, 0, None)])

    def test_small_blocksize(self):
        # Files cut in many ranges: the same records, errors and record
        # numbers (in the whole file) as marcctl dump of each file.
        ref = reference()
        bag = md.read_marc(FILES, blocksize="20 KiB")
        self.assertGreater(bag.npartitions, 20)
        df = md.read_marc_values(FILES, COLUMNS, blocksize="20 KiB")
        errs = md.read_errors(bag)
        n, titles, recnos, rows, vals = dask.compute(
            bag.count(), bag.map(title_of), bag.map(lambda r: r.recno),
            errs, df, scheduler="sync")
        self.assertEqual(n, sum(len(ref[f][0]) for f in FILES))
        self.assertEqual(titles, [first(r, "245", "a") for f in FILES
                                  for r in ref[f][0]])
        self.assertEqual(list(rows.itertuples(index=False, name=None)),
                         [r for f in FILES for r in ref[f][1]])
        T.assert_same_list(self, frame_rows(vals), want_values(FILES),
                           "values")
        whole = pandas.concat([marcd.frame(f, COLUMNS, workers=1)
                               for f in FILES], ignore_index=True)
        self.assertEqual(list(vals["offset"]), list(whole["offset"]))
        self.assertEqual(list(recnos), list(whole["recno"]))

    def test_text_formats_split(self):
        # MARCXML and JSON Lines split into ranges at their own record
        # boundaries: the records of the ISO 2709 file they came from.
        ref = reference(FILES[:2])
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for fmt, ext in (("marcxml", "xml"), ("marcjson", "json")):
                out = os.path.join(d, "f." + ext)
                with open(out, "wb") as fh:
                    subprocess.run([T.MARCCTL, "dump", "--format", fmt]
                                   + FILES[:2], stdout=fh, check=True)
                paths.append(out)
            want = [r for f in FILES[:2] for r in ref[f][0]]
            for path in paths:
                bag = md.read_marc(path, blocksize="64 KiB")
                self.assertGreater(bag.npartitions, 5)
                df = md.read_marc_values(path, COLUMNS, blocksize="64 KiB")
                titles, vals = dask.compute(bag.map(title_of), df,
                                            scheduler="sync")
                self.assertEqual(titles, [first(r, "245", "a")
                                          for r in want], path)
                self.assertEqual(list(vals["recno"]),
                                 list(range(1, len(want) + 1)))
                self.assertEqual(list(vals["title"]), titles)

    def test_partition_object(self):
        # A bag's partition: its length without records made, indexing,
        # renumbering, and pickling (in band, and out of band as
        # distributed does it) to the same records.
        import pickle
        ref = reference(FILES[1:2])[FILES[1]][0]
        part, rows, used = md.read_part(FILES[1], 0, 150000)
        n = len(part)
        self.assertTrue(0 < n < len(ref), n)
        self.assertEqual(used, n)
        self.assertEqual([r.as_dict() for r in part], ref[:n])
        self.assertEqual(part[-1].as_dict(), ref[n - 1])
        self.assertEqual([r.recno for r in part[2:5]], [3, 4, 5])
        with self.assertRaises(IndexError):
            part[n]
        later = md.renumber((part, rows, used), 1000)[0]
        self.assertEqual([r.recno for r in later][:2], [1001, 1002])
        self.assertEqual(part[0].recno, 1)
        for proto in (4, 5):
            back = pickle.loads(pickle.dumps(later, protocol=proto))
            self.assertEqual([(r.recno, r.as_dict()) for r in back],
                             [(r.recno, r.as_dict()) for r in later])
        bufs = []
        data = pickle.dumps(later, protocol=5, buffer_callback=bufs.append)
        self.assertGreater(len(bufs), 0)
        self.assertLess(len(data), 1000)        # the bytes went out of band
        for wrap in (bytearray, bytes):
            back = pickle.loads(data, buffers=[wrap(b.raw()) for b in bufs])
            self.assertEqual([r.as_dict() for r in back], ref[:n])

    def test_count_reads_counts(self):
        # read_marc's count() runs count tasks only (no partition of
        # records is made); a derived bag counts its records as any does.
        ref = reference()
        want = sum(len(ref[f][0]) for f in FILES)
        bag = md.read_marc(FILES, blocksize="32 KiB")
        item = bag.count()
        self.assertFalse([k for k in dict(item.__dask_graph__())
                          if "read_part" in str(k)])
        self.assertEqual(item.compute(scheduler="sync"), want)
        self.assertEqual(bag.filter(lambda r: True).count().compute(
            scheduler="sync"), want)
        self.assertEqual(bag.persist(scheduler="sync").count().compute(
            scheduler="sync"), want)

    def test_kept_connection(self):
        # With a host daemon, a task's connection is kept for the next
        # task; one the daemon has dropped since (restarted) is replaced,
        # and records read through a kept one are whole (copied out).
        ref = reference()[FILES[0]][0]
        tmp = tempfile.mkdtemp(prefix="marcd-dask-test-")
        sock = os.path.join(tmp, "marcd.sock")
        old = md._host_socket
        md._host_socket = lambda: sock
        d = None
        try:
            d = daemon_at(sock)
            self.assertEqual(md.count_part(FILES[0]), len(ref))
            kept = md._idle[sock]
            self.assertEqual(len(kept), 1)
            conn = kept[0]
            self.assertEqual(md.count_part(FILES[0]), len(ref))
            self.assertEqual(md._idle[sock], [conn])
            d.stop()
            d = daemon_at(sock)
            self.assertEqual(md.count_part(FILES[0]), len(ref))
            self.assertEqual(len(md._idle[sock]), 1)
            self.assertIsNot(md._idle[sock][0], conn)
            self.assertTrue(conn.closed)
            for _ in range(2):
                part, rows, used = md.read_part(FILES[0])
                self.assertEqual([r.as_dict() for r in part], ref)
                self.assertEqual(len(md._idle[sock]), 1)
            # A task that fails does not keep its connection.
            with self.assertRaises(marcd.MarcError):
                md.read_part(FILES[2], errors="raise")
            self.assertEqual(md._idle[sock], [])
        finally:
            md._host_socket = old
            md._drop_idle(sock)
            if d is not None:
                d.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    def test_raise(self):
        with self.assertRaises(marcd.MarcError):
            md.read_marc(FILES[2:3], errors="raise").count().compute(
                scheduler="sync")


class TestLocalCluster(unittest.TestCase):
    """Three worker processes on one host, one marcd for them."""

    @classmethod
    def setUpClass(cls):
        cls.hd = HostDir().__enter__()
        cls.cluster = distributed.LocalCluster(
            n_workers=3, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None)
        cls.client = distributed.Client(cls.cluster)
        md.register(cls.client)

    @classmethod
    def _close(cls):
        if cls.client is not None:
            client, cls.client = cls.client, None
            client.close()
            cls.cluster.close()

    @classmethod
    def tearDownClass(cls):
        try:
            cls._close()
        finally:
            cls.hd.__exit__()

    def test_1_same_as_dump(self):
        ref = reference()
        bag = md.read_marc(FILES)
        df = md.read_marc_values(FILES, COLUMNS)
        same_as_dump(self, bag, df)
        # Records crossed the network pickled, and read the same there.
        recs = bag.take(3, npartitions=1)
        self.assertEqual([r.as_dict() for r in recs], ref[FILES[0]][0][:3])
        # One daemon for the host, and it did the reading.
        daemons = marcd_daemons(self.hd.root)
        self.assertEqual([len(p) for p in daemons.values()], [1], daemons)

    def test_1b_ranges_same_as_dump(self):
        # Partitions of 32 KiB read by the host's daemon, renumbered on
        # the cluster: the same as marcctl dump and marcd.frame.
        bag = md.read_marc(FILES, blocksize="32 KiB")
        df = md.read_marc_values(FILES, COLUMNS, blocksize="32 KiB")
        self.assertGreater(df.npartitions, 10)
        same_as_dump(self, bag, df)

    def test_1c_connections_kept(self):
        # A worker's tasks share one connection to the host's daemon, kept
        # from task to task: not one per task.
        df = md.read_marc_values(FILES, COLUMNS, blocksize="32 KiB")
        self.assertGreater(df.npartitions, 10)
        for _ in range(2):
            df.compute()
            idle = self.client.run(idle_connections)
            self.assertTrue(all(n <= 1 for n in idle.values()), idle)
            self.assertGreater(sum(idle.values()), 0, idle)
            (key,) = marcd_daemons(self.hd.root)
            with marcd.Client(os.path.join(self.hd.root, key,
                                           "marcd.sock")) as c:
                clients = c.stats()["tenants"][0]["clients"]
            self.assertLessEqual(clients, sum(idle.values()) + 1)

    def test_2_worker_killed(self):
        path, total = T.big_file(20000)
        files = FILES[:2] + [path]
        want = pandas.concat([marcd.frame(f, COLUMNS, workers=1)
                              for f in files], ignore_index=True)
        df = md.read_marc_values(files, COLUMNS)
        big = md._sources[df._name][2].key      # reads the big file
        fut = self.client.compute(df)
        # Kill the worker reading the big file while it reads it.
        deadline = time.monotonic() + 60
        victim = None
        while victim is None and time.monotonic() < deadline:
            for addr, keys in self.client.processing().items():
                if big in keys:
                    victim = addr
            time.sleep(0.01)
        self.assertIsNotNone(victim, "the big file's task was not seen")
        pid = self.client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        got = fut.result(timeout=120)
        self.assertNotIn(victim, self.client.scheduler_info()["workers"])
        self.assertEqual(len(got), len(want))
        T.assert_same_list(self, frame_rows(got), frame_rows(want),
                           "after a kill")
        self.assertEqual(list(got["offset"]), list(want["offset"]))
        daemons = marcd_daemons(self.hd.root)
        self.assertEqual([len(p) for p in daemons.values()], [1], daemons)

    def test_3_nothing_left(self):
        # Last: closing the cluster stops the host's daemon.
        type(self)._close()
        self.hd.wait_clean(self)


class TestTwoHosts(unittest.TestCase):
    """A scheduler and dask-worker processes on 127.0.0.2 and 127.0.0.3."""

    def test_one_daemon_per_host(self):
        with HostDir() as hd:
            sched = os.path.join(hd.root, "scheduler.json")
            py = sys.executable
            procs = [subprocess.Popen(
                [py, "-m", "distributed.cli.dask_scheduler", "--host",
                 "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", sched],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
            try:
                for host in ("127.0.0.2", "127.0.0.2", "127.0.0.3",
                             "127.0.0.3"):
                    procs.append(subprocess.Popen(
                        [py, "-m", "distributed.cli.dask_worker", "--host",
                         host, "--nthreads", "1", "--no-nanny",
                         "--no-dashboard", "--local-directory", hd.root,
                         "--scheduler-file", sched],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL))
                self._run(hd, sched)
            finally:
                for p in reversed(procs):
                    p.send_signal(signal.SIGTERM)
                for p in procs:
                    try:
                        p.wait(30)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
            hd.wait_clean(self)

    def _run(self, hd, sched):
        deadline = time.monotonic() + 60
        while not os.path.exists(sched) and time.monotonic() < deadline:
            time.sleep(0.1)
        with distributed.Client(scheduler_file=sched, timeout=60) as client:
            client.wait_for_workers(4, timeout=60)
            hosts = sorted(md._worker_host(a) for a in
                           client.scheduler_info()["workers"])
            self.assertEqual(hosts, ["127.0.0.2"] * 2 + ["127.0.0.3"] * 2)
            md.register(client)
            daemons = marcd_daemons(hd.root)
            self.assertEqual(sorted(k.rsplit("-", 1)[1] for k in daemons),
                             ["127.0.0.2", "127.0.0.3"], daemons)
            self.assertEqual([len(p) for p in daemons.values()], [1, 1])
            files = FILES + sorted(glob.glob(os.path.join(
                T.VALID, "solrmarc__u*.mrc")))[:7]
            got = md.read_marc_values(files, COLUMNS).compute()
            T.assert_same_list(self, frame_rows(got), want_values(files),
                               "two hosts")
            used = {}
            for key in daemons:
                sock = os.path.join(hd.root, key, "marcd.sock")
                with marcd.Client(sock) as c:
                    used[key] = c.stats()["tenants"][0]["batches"]
            self.assertTrue(all(n > 0 for n in used.values()), used)
            self.assertEqual(sum(used.values()), len(files))


if __name__ == "__main__":
    unittest.main()
