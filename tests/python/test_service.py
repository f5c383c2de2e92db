"""Service mode: submitting, status, stats, cancel, errors, strict mode,
shared memory given back (also when the client is SIGKILLed), records held
past their chunk's turn."""

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

import marcdtest as T
import marcd

FAT = os.path.join(T.VALID, "folio-integration-tests__FAT-1117.mrc")


def tenant_stats(c, name="default"):
    for t in c.stats()["tenants"]:
        if t["name"] == name:
            return t
    raise AssertionError("no tenant %r in stats" % name)


def wait_arena_free(c, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        used = tenant_stats(c)["arena_used"]
        if used == 0 or time.monotonic() > deadline:
            return used
        time.sleep(0.05)


class Submit(unittest.TestCase):

    def test_path_fd_bytes_fileobj_agree(self):
        path = T.valid_files()[0]
        want = T.dump_json(path)
        with open(path, "rb") as f:
            data = f.read()
        with T.client() as c:
            by_path = [r.as_dict() for r in c.submit(path)]
            with open(path, "rb") as f:
                by_fd = [r.as_dict() for r in c.submit(f)]
            by_bytes = [r.as_dict() for r in c.submit(data)]
            by_bytearray = [r.as_dict() for r in c.submit(bytearray(data))]
            by_bytesio = [r.as_dict() for r in c.submit(io.BytesIO(data))]
        for got in (by_path, by_fd, by_bytes, by_bytearray, by_bytesio):
            T.assert_same_list(self, got, want)

    def test_several_batches_in_order(self):
        files = T.valid_files()[:5]
        with T.client() as c:
            batches = [c.submit(f) for f in files]
            for f, b in zip(files, batches):
                self.assertEqual([r.as_dict() for r in b], T.dump_json(f))

    def test_bad_source(self):
        with T.client() as c:
            with self.assertRaises(TypeError):
                c.submit(12)
            with self.assertRaises(ValueError):
                c.submit(FAT, charset="latin1")
            with self.assertRaises(marcd.ServiceError) as cm:
                c.submit("/nonexistent/file.mrc")
            self.assertEqual(cm.exception.code, -1)   # MARCD_E_SYSTEM
            self.assertIn("nonexistent", str(cm.exception))

    def test_read_once(self):
        with T.client() as c:
            b = c.submit(FAT)
            list(b)
            with self.assertRaises(RuntimeError):
                list(b)


class StatusStats(unittest.TestCase):

    def test_status_and_stats(self):
        path, n = T.big_file(3000)
        with T.client() as c:
            b = c.submit(path)
            got = sum(1 for _ in b)
            self.assertEqual(got, n)
            st = b.status()
            self.assertEqual(st["batch_id"], b.id)
            self.assertEqual(st["state"], "done")
            self.assertEqual(st["records"], n)
            self.assertEqual(st["bytes_total"], os.path.getsize(path))
            self.assertEqual(st["bytes_done"], st["bytes_total"])
            s = c.stats()
            self.assertIn("workers", s)
            self.assertGreaterEqual(len(s["workers"]), 1)
            t = tenant_stats(c)
            self.assertGreaterEqual(t["records"], n)
            self.assertEqual(wait_arena_free(c), 0)

    def test_cancel(self):
        path, n = T.big_file(150000)        # more than the arena holds
        with T.client() as c:
            b = c.submit(path)
            it = iter(b)
            next(it)
            used, prev = 0, -1
            while used != prev:                 # until the workers wait
                prev = used
                time.sleep(0.1)
                used = tenant_stats(c)["arena_used"]
            b.cancel()
            # what was parsed and not taken went back with the cancel
            self.assertLess(tenant_stats(c)["arena_used"], used // 2)
            rest = sum(1 for _ in it)
            self.assertLess(rest + 1, n)
            self.assertEqual(b.status()["state"], "cancelled")
            del it
            self.assertEqual(wait_arena_free(c), 0)

    def test_connect_error(self):
        with self.assertRaises(marcd.ServiceError) as cm:
            marcd.Client("/nonexistent/marcd.sock")
        self.assertEqual(cm.exception.code, -2)          # MARCD_E_CONNECT
        self.assertEqual(cm.exception.name, "MARCD_E_CONNECT")

    def test_closed_client(self):
        c = T.client()
        c.close()
        c.close()                                        # twice is fine
        with self.assertRaises(marcd.ServiceError) as cm:
            c.submit(FAT)
        self.assertEqual(cm.exception.code, -7)          # MARCD_E_CLOSED


class SharedMemory(unittest.TestCase):

    def test_records_outlive_client(self):
        with T.client() as c:
            recs = list(c.submit(FAT))
            want = [r.as_dict() for r in recs]
        # closed: the records were copied out of shared memory
        self.assertEqual([r.as_dict() for r in recs], want)
        with T.client() as c:
            self.assertEqual(wait_arena_free(c), 0)

    def test_hold_every_record_small_arena(self):
        # Holding all records of a file many times the arena's size must
        # not stall the daemon: held chunks are copied out.
        path, n = T.big_file(20000)
        with marcd.Daemon(workers=1, arena_size="24M") as d:
            with d.client() as c:
                recs = list(c.submit(path))
                self.assertEqual(len(recs), n)
                # at most max_pinned chunks stay in shared memory
                self.assertLessEqual(tenant_stats(c)["arena_used"],
                                     8 * 4 * 1024 * 1024)
                self.assertGreater(sum(1 for ch in {r._c for r in recs}
                                       if not ch.attached), 0)
                titles = [r.get("245") and r["245"].get("a") for r in recs]
                T.assert_same_list(self, titles,
                                   c.submit(path).values("245", "a"))
                del recs
                self.assertEqual(wait_arena_free(c), 0)

    def test_abandoned_batches_give_memory_back(self):
        path, n = T.big_file(20000)
        small = T.valid_files()[0]
        with T.client() as c:
            # left in the middle: cancelled, its chunks given back
            b = c.submit(path)
            it = iter(b)
            next(it)
            self.assertGreater(tenant_stats(c)["arena_used"], 0)
            del it, b
            self.assertEqual(wait_arena_free(c, 5), 0)
            # never read, parsed to the end: the same
            b = c.submit(path)
            while b.status()["state"] != "done":
                time.sleep(0.02)
            self.assertGreater(tenant_stats(c)["arena_used"], 0)
            del b
            self.assertEqual(wait_arena_free(c, 5), 0)
            # and the client goes on working
            self.assertEqual(len(list(c.submit(small))),
                             len(T.dump_json(small)))

    def test_sigkill_client_gives_memory_back(self):
        path, n = T.big_file(20000)
        code = textwrap.dedent("""
            import sys, marcd
            c = marcd.Client(sys.argv[1])
            held = []
            for i, r in enumerate(c.submit(sys.argv[2])):
                held.append(r)
                if i == 3000:
                    print("ready", flush=True)
                    sys.stdin.read()      # wait to be killed
        """)
        sock = T.daemon().socket
        p = subprocess.Popen([sys.executable, "-c", code, sock, path],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=T.child_env())
        try:
            line = p.stdout.readline()
            self.assertEqual(line.strip(), b"ready")
            with T.client() as c:
                self.assertGreater(tenant_stats(c)["arena_used"], 0)
                p.send_signal(signal.SIGKILL)
                p.wait(10)
                self.assertEqual(p.returncode, -signal.SIGKILL)
                self.assertEqual(wait_arena_free(c), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdin.close()
            p.stdout.close()


class Errors(unittest.TestCase):

    def setUp(self):
        self.rec = T.first_record_bytes(FAT)

    def test_junk_between_records(self):
        # Junk before a record is that record's problem; junk after the
        # last record belongs to no record: it is on the batch.
        data = self.rec + b"JUNKJUNKJUNK" + self.rec + b"MOREJUNK"
        with T.client() as c:
            b = c.submit(data)
            recs = list(b)
        self.assertEqual(len(recs), 2)
        self.assertEqual(recs[0].errors, [])
        self.assertEqual(len(recs[1].errors), 1)
        e = recs[1].errors[0]
        self.assertIsInstance(e, marcd.JunkError)
        self.assertEqual(e.offset, len(self.rec))
        self.assertEqual(e.recno, 2)
        self.assertIs(e.record, recs[1])
        self.assertEqual(len(b.errors), 1)
        e = b.errors[0]
        self.assertIsInstance(e, marcd.JunkError)
        self.assertEqual(e.offset, 2 * len(self.rec) + 12)
        self.assertIsNone(e.record)

    def test_strict_junk(self):
        data = self.rec + b"JUNKJUNKJUNK" + self.rec
        got = []
        with T.client() as c:
            with self.assertRaises(marcd.JunkError):
                for r in c.submit(data, strict=True):
                    got.append(r)
        self.assertEqual(len(got), 1)      # the good record before the junk

    def test_truncated(self):
        data = self.rec + self.rec[:len(self.rec) // 2]
        with T.client() as c:
            b = c.submit(data)
            recs = list(b)
        self.assertGreaterEqual(len(recs), 1)
        codes = [e.name for e in b.errors] + [
            e.name for r in recs for e in r.errors]
        self.assertIn("truncated-record", codes)
        with T.client() as c:
            with self.assertRaises(marcd.StructureError):
                list(c.submit(data, strict=True))

    def test_strict_encoding(self):
        i = self.rec.index(b"Foundation")
        bad = self.rec[:i] + b"\xc3\x28" + self.rec[i + 2:]
        with T.client() as c:
            recs = list(c.submit(self.rec + bad))
            self.assertEqual(len(recs), 2)
            self.assertEqual(len(recs[1].errors), 1)
            seen = []
            with self.assertRaises(marcd.EncodingError) as cm:
                for r in c.submit(self.rec + bad, strict=True):
                    seen.append(r)
        self.assertEqual(len(seen), 1)
        self.assertEqual(cm.exception.recno, 2)
        self.assertEqual(cm.exception.record["001"].data, "4431641")

    def test_malformed_files(self):
        # Non-strict: every record the offline reader recovers; strict: a
        # MarcError for a file with problems, none for a clean one.
        raised = 0
        for f in T.malformed_files():
            with self.subTest(file=os.path.basename(f)):
                want = T.dump_json(f)
                with T.client() as c:
                    b = c.submit(f)
                    recs = list(b)
                    T.assert_same_list(self, [r.as_dict() for r in recs],
                                       want)
                    bad = bool(b.errors) or any(r.errors for r in recs)
                    got = []
                    try:
                        for r in c.submit(f, strict=True):
                            got.append(r)
                    except marcd.MarcError:
                        raised += 1
                        self.assertTrue(bad)
                        self.assertLessEqual(len(got), len(recs))
                    else:
                        self.assertFalse(bad)
                        self.assertEqual(len(got), len(recs))
        if T.malformed_files():
            self.assertGreater(raised, 0)


if __name__ == "__main__":
    unittest.main()
