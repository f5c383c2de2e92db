"""Byte ranges and the input format through the daemon, from Python:
marcd.read(offset=, length=, from_=) and Client.submit(...) against
`marcctl dump --range` / `--from` of the same bytes."""
import json
import os
import subprocess
import tempfile
import unittest

import marcdtest as T
import marcd

FILE = os.path.join(T.VALID, "solrmarc__uva_001-200.mrc")


def dump(path, *opts):
    """(records as dicts, [(offset, recno, code)]) by `marcctl dump`."""
    p = subprocess.run([T.MARCCTL, "dump", "--format", "marcjson"]
                       + list(opts) + [path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if p.returncode not in (0, 1):
        raise RuntimeError("marcctl dump: exit %d" % p.returncode)
    errs = []
    for line in p.stderr.decode().splitlines():
        if line.endswith("not shown"):
            continue
        head, rec, code, _ = line[len(path) + 1:].split(": ", 3)
        errs.append((int(head), int(rec.split()[1]), code))
    return [json.loads(x) for x in p.stdout.splitlines() if x], errs


def read(path, **kw):
    """(dicts, [(offset, recno, code)], recnos) by marcd.read."""
    errors = []
    recs = []
    recnos = []
    codes = []
    for r in marcd.read(path, socket=T.daemon().socket, errors=errors,
                        **kw):
        recs.append(r.as_dict())
        recnos.append(r.recno)
        codes.extend((e.offset, e.recno, e.name) for e in r.errors)
    codes.extend((e.offset, e.recno, e.name) for e in errors)
    return recs, sorted(codes), recnos


class TestRange(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="marcd-range-")
        cls.xml = os.path.join(cls.tmp, "f.xml")
        cls.jsonl = os.path.join(cls.tmp, "f.json")
        for fmt, out in (("marcxml", cls.xml), ("marcjson", cls.jsonl)):
            with open(out, "wb") as fh:
                subprocess.run([T.MARCCTL, "dump", "--format", fmt, FILE],
                               stdout=fh, check=True)

    @classmethod
    def tearDownClass(cls):
        for f in (cls.xml, cls.jsonl):
            os.unlink(f)
        os.rmdir(cls.tmp)

    def check_cut(self, path, step, **kw):
        size = os.path.getsize(path)
        whole, _ = dump(path)
        union = []
        for off in range(0, size, step):
            recs, errs, recnos = read(path, offset=off, length=step, **kw)
            want, werrs = dump(path, "--range", "%d:%d" % (off, step))
            self.assertEqual(len(recs), len(want), (path, off))
            for g, w in zip(recs, want):
                self.assertTrue(T.same_record_dict(g, w), (path, off))
            self.assertEqual(errs, sorted(werrs), (path, off))
            # numbered from the range's first record
            self.assertEqual(recnos, list(range(1, len(recs) + 1)))
            union.extend(recs)
        self.assertEqual(len(union), len(whole))
        self.assertTrue(all(T.same_record_dict(g, w)
                            for g, w in zip(union, whole)))

    def test_iso2709_ranges(self):
        self.check_cut(FILE, 50000)
        self.check_cut(FILE, 150000)

    def test_text_ranges(self):
        self.check_cut(self.xml, 200000)
        self.check_cut(self.jsonl, 120000, from_="marcjson")

    def test_malformed_ranges(self):
        path = os.path.join(T.MALFORMED, "folio-integration-tests__FAT-21038.mrc")
        self.check_cut(path, 1000)

    def test_to_the_end(self):
        size = os.path.getsize(FILE)
        recs, _, _ = read(FILE, offset=size // 2)
        want, _ = dump(FILE, "--range", "%d:0" % (size // 2))
        self.assertEqual(len(recs), len(want))
        self.assertGreater(len(recs), 10)
        with T.client() as c:
            b = c.submit(FILE, offset=size // 2)
            n = sum(len(k) for k in b.chunks())
            st = b.status()
        self.assertEqual(n, len(want))
        self.assertEqual(st["bytes_total"], size - size // 2)

    def test_bytes_and_file_objects(self):
        with open(FILE, "rb") as fh:
            data = fh.read()
        want, _ = dump(FILE, "--range", "1000:30000")
        with T.client() as c:
            got = [r.as_dict() for r in c.submit(data, offset=1000,
                                                 length=30000)]
            with open(FILE, "rb") as fh:
                got2 = [r.as_dict() for r in c.submit(fh, offset=1000,
                                                      length=30000)]
        self.assertEqual(len(got), len(want))
        self.assertEqual(got, got2)

    def test_from(self):
        want, _ = dump(FILE)
        with T.client() as c:
            got = [r.as_dict() for r in c.submit(self.xml, from_="marcxml")]
        self.assertEqual(len(got), len(want))
        # A wrong format: its own error at record 1, no records.
        with T.client() as c:
            b = c.submit(FILE, from_="marcxml")
            recs = list(b)
            codes = [e.name for e in b.errors]
        self.assertEqual(recs, [])
        self.assertEqual(codes[:1], ["bad-xml"])

    def test_bad_arguments(self):
        size = os.path.getsize(FILE)
        with self.assertRaisesRegex(marcd.ServiceError, "past the end"):
            list(read(FILE, offset=size + 1, length=10))
        with self.assertRaises(ValueError):
            list(read(FILE, offset=-1, length=10))
        with self.assertRaises(ValueError):
            list(read(FILE, offset=0, length=0))
        with self.assertRaisesRegex(ValueError, "from_"):
            list(read(FILE, from_="cobol"))


if __name__ == "__main__":
    unittest.main()
