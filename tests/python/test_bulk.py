"""Bulk values (one call into C per chunk) equal the per-record values.

The rule: for each record, the first field with the tag; for a data field
its first subfield with the code, for a control field (no code) its data;
None when there is no such field or subfield.
"""

import os
import unittest

import marcdtest as T

CASES = [("245", "a"), ("245", "c"), ("001", None), ("008", None),
         ("650", "a"), ("020", "a"), ("100", "a"), ("999", "z"),
         ("245", "6"), ("880", "a"), ("245", None), ("001", "a")]


def per_record(recs, tag, code):
    out = []
    for r in recs:
        f = r.get(tag)
        if f is None:
            out.append(None)
        elif f.control_field:
            out.append(f.data if code is None else None)
        else:
            out.append(None if code is None else f.get(code))
    return out


def from_json(dicts, tag, code):
    out = []
    for d in dicts:
        v = None
        for f in d["fields"]:
            if tag in f:
                x = f[tag]
                if isinstance(x, str):
                    v = x if code is None else None
                elif code is not None:
                    for s in x["subfields"]:
                        if code in s:
                            v = s[code]
                            break
                break
        out.append(v)
    return out


class Bulk(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.big, cls.nbig = T.big_file(6000)

    def test_values_equal_per_record(self):
        files = [self.big] + T.valid_files()[:40] + T.marc8_files()
        checked = 0
        for path in files:
            want_json = T.dump_json(path)
            with T.client() as c:
                recs = list(c.submit(path))
            self.assertEqual(len(recs), len(want_json))
            for tag, code in CASES:
                with T.client() as c:
                    got = c.submit(path).values(tag, code)
                with self.subTest(file=os.path.basename(path), tag=tag,
                                  code=code):
                    T.assert_same_list(self, got, per_record(recs, tag, code),
                                       "per record")
                    T.assert_same_list(self, got,
                                       from_json(want_json, tag, code),
                                       "marcctl dump")
                    checked += len(got)
        self.assertGreater(checked, 6000)

    def test_values_by_chunk(self):
        with T.client() as c:
            whole = c.submit(self.big).values("245", "a")
        with T.client() as c:
            parts = list(c.submit(self.big).values_by_chunk("245", "a"))
        self.assertGreater(len(parts), 1)
        T.assert_same_list(self, [v for p in parts for v in p], whole)
        self.assertEqual(len(whole), self.nbig)

    def test_chunks_detached(self):
        # A chunk copied out of shared memory answers the same.
        with T.client() as c:
            chunks = list(c.submit(self.big).chunks())
            want = [ch.values("650", "a") for ch in chunks]
            for ch in chunks:
                ch.detach()
                self.assertFalse(ch.attached)
            flat = [v for w in want for v in w]
            T.assert_same_list(self, [v for ch in chunks
                                      for v in ch.values("650", "a")], flat)
            T.assert_same_list(self, [v for ch in chunks
                                      for v in per_record(ch, "650", "a")],
                               flat)

    def test_bad_arguments(self):
        with T.client() as c:
            chunks = list(c.submit(T.valid_files()[0]).chunks())
        with self.assertRaises(ValueError):
            chunks[0].values("24", "a")
        with self.assertRaises(ValueError):
            chunks[0].values("245", "ab")


if __name__ == "__main__":
    unittest.main()
