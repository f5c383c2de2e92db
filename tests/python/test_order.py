"""Batches of one Client come in the order they were submitted.

Reading a later batch while the arena fills with chunks of an earlier one
used to wait for ever, silently; now it is a ServiceError (MARCD_E_ORDER)
that says which batch to read first, and the earlier batch is intact.
"""

import signal
import unittest

import marcdtest as T
import marcd


class Hang(Exception):
    pass


def _hang(signum, frame):
    raise Hang("no answer in 120 s: the read waits for ever")


class BatchOrder(unittest.TestCase):

    def setUp(self):
        # A regression here is a silent wait: make it a failure.
        self.old = signal.signal(signal.SIGALRM, _hang)
        signal.alarm(120)

    def tearDown(self):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)

    def test_later_batch_first_is_an_error(self):
        path, n = T.big_file(20000)
        small = T.valid_files()[0]
        with marcd.Daemon(workers=1, arena_size="8M",
                          block_size="1M") as d:
            with d.client() as c:
                first = c.submit(path)
                second = c.submit(small)
                with self.assertRaises(marcd.ServiceError) as cm:
                    for _ in second:
                        pass
                e = cm.exception
                self.assertEqual(e.name, "MARCD_E_ORDER")
                self.assertIn("batch %d" % first.id, e.text)
                self.assertIn("order they were submitted", e.text)
                # Nothing of the earlier batch was lost on the way.
                self.assertEqual(sum(1 for _ in first), n)

    def test_in_order_still_works(self):
        path, n = T.big_file(20000)
        small = T.valid_files()[0]
        with marcd.Daemon(workers=1, arena_size="8M",
                          block_size="1M") as d:
            with d.client() as c:
                first = c.submit(path)
                second = c.submit(small)
                self.assertEqual(sum(1 for _ in first), n)
                self.assertEqual([r.as_dict() for r in second],
                                 T.dump_json(small))


if __name__ == "__main__":
    unittest.main()
