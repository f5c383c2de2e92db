"""Columns for frames, without pandas: every value of a tag and code per
record, and where each record was (marcd_py_block_values_all and
marcd_py_block_positions), against the records read one by one."""

import unittest

import marcdtest as T
from marcd import _frame

CASES = [("650", "a"), ("020", "a"), ("001", None), ("035", "a"),
         ("245", None), ("001", "a"), ("999", "z"), ("880", "6")]


def every(rec, tag, code):
    out = []
    for f in rec.get_fields(tag):
        if f.control_field:
            if code is None:
                out.append(f.data)
        elif code is not None:
            out.extend(f.get_subfields(code))
    return out


class TestColumns(unittest.TestCase):

    def check(self, path):
        cols = {"c%d" % i: tc for i, tc in enumerate(CASES)}
        with T.client() as c:
            b = c.submit(path)
            for ch in b.chunks():
                got = _frame.chunk_columns(ch, cols, "list")
                recs = list(ch)
                for name, (tag, code) in cols.items():
                    T.assert_same_list(
                        self, got[name], [every(r, tag, code) for r in recs],
                        "%s %s$%s" % (path, tag, code))
                self.assertEqual(list(got["offset"]),
                                 [r.offset for r in recs])
                self.assertEqual(list(got["recno"]), [r.recno for r in recs])
                first = _frame.chunk_columns(ch, cols, "first")
                for name, (tag, code) in cols.items():
                    self.assertEqual(first[name], ch.values(tag, code))
                errs = _frame.chunk_errors(ch)
                self.assertEqual(sorted(errs, key=lambda e: e.recno),
                                 sorted(ch.errors + [e for r in recs
                                                     for e in r.errors],
                                        key=lambda e: e.recno))

    def test_valid(self):
        for path in T.valid_files()[::20]:
            self.check(path)

    def test_malformed(self):
        for path in T.malformed_files():
            self.check(path)

    def test_bad_columns(self):
        for bad in ({"file": ("245", "a")}, {"x": ("24", "a")},
                    {"x": ("245", "ab")}, {"x": 245}):
            with self.assertRaises(ValueError):
                _frame.check_columns(bad)
        with self.assertRaises(ValueError):
            _frame.check_columns(None, repeated="all")

    def test_no_pandas_message(self):
        try:
            import pandas  # noqa: F401
        except ImportError:
            with self.assertRaisesRegex(ImportError, "need pandas"):
                _frame.pandas()
        else:
            self.skipTest("pandas is installed here")


if __name__ == "__main__":
    unittest.main()
