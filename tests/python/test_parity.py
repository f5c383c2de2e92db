"""Every record read through marcd equals `marcctl dump --format marcjson`.

The reference is the offline tool reading the file itself; the package
reads the daemon's UTF-8 ISO 2709 blocks.  Both are compared as parsed
JSON, record by record, on the whole valid corpus and the MARC-8 samples.
"""

import json
import os
import unittest

import marcdtest as T


class Parity(unittest.TestCase):

    def check_file(self, path, charset="auto"):
        want = T.dump_json(path, charset)
        with T.client() as c:
            b = c.submit(path, charset=charset)
            got = []
            for r in b:
                d = r.as_dict()
                got.append(d)
                # as_json is the same document
                self.assertEqual(json.loads(r.as_json()), d)
        self.assertEqual(len(got), len(want), path)
        for i, (g, w) in enumerate(zip(got, want)):
            # (the package normalises subfield codes that are not ASCII
            # as pymarc does: T.same_record_dict)
            if g != w and not T.same_record_dict(g, w):
                self.fail("%s: record %d differs:\n got %s\nwant %s"
                          % (os.path.basename(path), i + 1,
                             json.dumps(g)[:2000], json.dumps(w)[:2000]))
        return len(got)

    def test_valid_corpus(self):
        files = T.valid_files()
        self.assertTrue(files, "no test data")
        total = 0
        for f in files:
            with self.subTest(file=os.path.basename(f)):
                total += self.check_file(f)
        self.assertGreater(total, 0)

    def test_marc8_samples(self):
        files = T.marc8_files()
        if not files:
            self.skipTest("no tests/data/marc8")
        for f in files:
            with self.subTest(file=os.path.basename(f)):
                self.check_file(f)

    def test_charset_forced(self):
        # The same file read as MARC-8 and as UTF-8 on demand.
        f = T.valid_files()[0]
        for cs in ("marc8", "utf8"):
            with self.subTest(charset=cs):
                self.check_file(f, cs)

    def test_malformed_corpus(self):
        # Broken files: the daemon recovers what the offline reader does.
        files = T.malformed_files()
        if not files:
            self.skipTest("no malformed corpus")
        for f in files:
            with self.subTest(file=os.path.basename(f)):
                self.check_file(f)


if __name__ == "__main__":
    unittest.main()
