"""The pymarc-shaped record API, on known records and against a reference.

Known values are checked by hand on two records (a UTF-8 one and a MARC-8
Cyrillic one); then every accessor is compared, on whole files, with a
small reference implementation of pymarc 5's rules working on the JSON
that `marcctl dump` gives.
"""

import os
import re
import tempfile
import unittest

import marcdtest as T
import marcd
from marcd import Indicators, Subfield

FAT = os.path.join(T.VALID, "folio-integration-tests__FAT-1117.mrc")
CYR = os.path.join(T.MARC8, "marc-perl__cyrillic.marc")


def records(path, **kw):
    with T.client() as c:
        return list(c.submit(path, **kw))


# -- a reference of pymarc 5's rules over MARC-in-JSON dicts --------------

def ref_fields(d, *tags):
    out = []
    for f in d["fields"]:
        (tag, v), = f.items()
        if not tags or tag in tags:
            out.append((tag, v))
    return out


def ref_first(d, tag):
    fs = ref_fields(d, tag)
    return fs[0][1] if fs else None


def ref_sub(v, code):
    if not isinstance(v, dict):
        return None
    for s in v["subfields"]:
        (c, x), = s.items()
        if c == code:
            return x
    return None


def ref_title(d):
    v = ref_first(d, "245")
    if v is None:
        return None
    t = ref_sub(v, "a")
    if t:
        b = ref_sub(v, "b")
        if b:
            t += " " + b
    return t


def ref_isbn(d):
    v = ref_first(d, "020")
    if v is None:
        return None
    n = ref_sub(v, "a")
    if not n:
        return None
    m = re.search(r"([0-9\-xX]+)", n)
    return m.group(1).replace("-", "") if m else None


def ref_format(tag, v):
    if not isinstance(v, dict):
        return v
    out = ""
    for s in v["subfields"]:
        (c, x), = s.items()
        if c == "6":
            continue
        if tag.startswith("6") and c in "vxyz":
            out += " -- " + x
        else:
            out += " " + x
    return out.strip()


def ref_author(d):
    for tag in ("100", "110", "111"):
        v = ref_first(d, tag)
        if v is not None:
            return ref_format(tag, v)
    return None


def ref_str_field(tag, v):
    if not isinstance(v, dict):
        return "=%s  %s" % (tag, v.replace(" ", "\\"))
    ind = "".join("\\" if i in (" ", "\\") else i
                  for i in (v["ind1"], v["ind2"]))
    subs = "".join("$%s%s" % next(iter(s.items())) for s in v["subfields"])
    return "=%s  %s%s" % (tag, ind, subs)


def ref_value(v):
    if not isinstance(v, dict):
        return v
    return " ".join(next(iter(s.values())).strip() for s in v["subfields"])


class KnownRecord(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.rec = records(FAT)[0]

    def test_leader_and_control_fields(self):
        r = self.rec
        self.assertEqual(r.leader, "02059cam a2200457Ii 4500")
        f = r["001"]
        self.assertTrue(f.is_control_field())
        self.assertTrue(f.control_field)
        self.assertEqual(f.data, "4431641")
        self.assertEqual(f.value(), "4431641")
        self.assertEqual(f.subfields, [])
        self.assertIsNone(f.indicators)
        self.assertEqual(f.get("a"), None)
        with self.assertRaises(KeyError):
            f["a"]
        self.assertEqual(str(r["008"]),
                         "=008  130411s2013\\\\\\\\vaua\\\\\\\\ob\\\\\\\\011"
                         "\\0\\eng\\d")

    def test_data_fields(self):
        r = self.rec
        f = r["245"]
        self.assertEqual(f.tag, "245")
        self.assertFalse(f.is_control_field())
        self.assertIsNone(f.data)
        self.assertEqual(f.indicators, Indicators("0", "0"))
        self.assertEqual((f.indicator1, f.indicator2), ("0", "0"))
        self.assertEqual(f["a"], "Foundation engineering in the face of "
                         "uncertainty :")
        self.assertEqual(f["b"], "honoring Fred H. Kulhawy /")
        self.assertEqual(f.subfields[1], Subfield("b", "honoring Fred H. "
                                                  "Kulhawy /"))
        self.assertEqual(f.subfields[1].code, "b")
        self.assertEqual(f.get("z"), None)
        self.assertEqual(f.get("z", "x"), "x")
        self.assertIn("c", f)
        self.assertNotIn("z", f)
        with self.assertRaises(KeyError):
            f["z"]
        self.assertEqual(str(r["050"]), "=050  \\4$aTA775$b.F686 2013eb")
        self.assertEqual(r["082"].get_subfields("a", "2"), ["624.1/5", "23"])
        self.assertEqual(r["020"].get_subfields("z"), ["9780784412763"])

    def test_lookup(self):
        r = self.rec
        self.assertIn("245", r)
        self.assertNotIn("999", r)
        self.assertIsNone(r.get("999"))
        with self.assertRaises(KeyError):
            r["999"]
        fs = r.get_fields("650", "655")
        self.assertEqual([f.tag for f in fs], ["650"] * 4 + ["655"])
        self.assertEqual([f["a"] for f in fs][:2],
                         ["Foundations.", "Foundations"])
        self.assertEqual(fs[1].value(), "Foundations Design and construction.")
        self.assertEqual(fs[1].format_field(),
                         "Foundations -- Design and construction.")
        self.assertEqual(len(r.get_fields("020")), 2)
        self.assertEqual(r.get_fields("020")[1]["z"], "0784412766")
        self.assertEqual(len(r.fields), len(r))
        self.assertEqual(r.get_fields(), r.fields)
        self.assertEqual([f.tag for f in r][:3], ["001", "003", "005"])

    def test_conveniences(self):
        r = self.rec
        self.assertEqual(r.title, "Foundation engineering in the face of "
                         "uncertainty : honoring Fred H. Kulhawy /")
        self.assertIsNone(r.isbn)          # 020 has only $z
        self.assertIsNone(r.author)        # no 1XX
        self.assertIsNone(r.uniformtitle)
        self.assertIsNone(r.issn)
        self.assertEqual(r.publisher, "American Society of Civil Engineers,")
        self.assertEqual(r.pubyear, "[2013]")
        self.assertEqual(len(r.subjects), 6)
        self.assertEqual([f.tag for f in r.series], ["490", "830"])
        # pymarc's list of note tags has no 588
        self.assertEqual([f.tag for f in r.notes], ["504"])
        self.assertEqual(len(r.addedentries), 6)
        self.assertEqual(len(r.physicaldescription), 1)
        self.assertEqual(r.location, [])

    def test_line_format(self):
        s = str(self.rec)
        lines = s.split("\n")
        self.assertEqual(lines[0], "=LDR  02059cam a2200457Ii 4500")
        self.assertEqual(lines[1], "=001  4431641")
        self.assertIn("=245  00$aFoundation engineering in the face of "
                      "uncertainty :$bhonoring Fred H. Kulhawy /$csponsored",
                      s)
        self.assertTrue(s.endswith("\n"))

    def test_numbering(self):
        self.assertEqual(self.rec.recno, 1)
        self.assertEqual(self.rec.offset, 0)
        self.assertEqual(self.rec.errors, [])

    def test_editing_thaws(self):
        # Records used to be read-only; they are pymarc records now: a
        # change turns the view into an ordinary record (what does not
        # exist in pymarc still raises).
        r = records(FAT)[0]
        with self.assertRaises(TypeError):
            r["245"] = None
        with self.assertRaises(AttributeError):
            r.title = "x"
        self.assertIs(type(r), marcd._record.ViewRecord)
        f = r["245"]
        f["a"] = "x"
        self.assertIsNot(type(r), marcd._record.ViewRecord)
        self.assertIsInstance(r, marcd.Record)
        self.assertEqual(r["245"]["a"], "x")
        f.indicators = ("1", "2")
        self.assertEqual(str(r["245"])[:11], "=245  12$ax")
        r.leader.record_status = "c"
        self.assertIs(type(r), marcd.Record)
        self.assertEqual(str(r["245"])[:11], "=245  12$ax")

    def test_as_marc(self):
        raw = self.rec.as_marc()
        self.assertIsInstance(raw, bytes)
        self.assertEqual(int(raw[:5]), len(raw))
        self.assertEqual(raw[-1:], b"\x1d")
        self.assertEqual(raw[9:10], b"a")


class Marc8Record(unittest.TestCase):

    def test_cyrillic(self):
        if not os.path.exists(CYR):
            self.skipTest("no MARC-8 samples")
        r = records(CYR)[0]
        self.assertEqual(r["245"]["a"],
                         "Odluke i res\u0306enja Saveznog ustavnog suda.")
        f = r.get_fields("880")[1]
        self.assertEqual(f["6"], "245-02/(N")
        self.assertEqual(f["a"], "Одлуке и решења Савезног уставног суда.")
        self.assertEqual(f.linkage_occurrence_num(), "02")
        self.assertEqual(r.leader[9], "a")      # converted to UTF-8
        self.assertEqual(r.as_marc()[9:10], b"a")


class AgainstReference(unittest.TestCase):
    """Every accessor, every record of a few files, against the JSON."""

    FILES = ["folio-mod-data-import__5000.mrc", "solrmarc__uva_001-200.mrc",
             "folio-mod-data-import__61PRINT160129.mrc"]

    def files(self):
        fs = [os.path.join(T.VALID, f) for f in self.FILES
              if os.path.exists(os.path.join(T.VALID, f))]
        return fs or T.valid_files()[:20]

    def test_accessors(self):
        n = 0
        for path in self.files():
            want = T.dump_json(path)
            got = records(path)
            self.assertEqual(len(got), len(want))
            for r, d in zip(got, want):
                n += 1
                self.assertEqual(r.leader, d["leader"])
                self.assertEqual(r.title, ref_title(d))
                self.assertEqual(r.isbn, ref_isbn(d))
                self.assertEqual(r.author, ref_author(d))
                fields = r.fields
                ref = ref_fields(d)
                self.assertEqual([f.tag for f in fields], [t for t, _ in ref])
                for f, (tag, v) in zip(fields, ref):
                    self.assertEqual(str(f), ref_str_field(tag, v))
                    self.assertEqual(f.value(), ref_value(v))
                    self.assertEqual(f.format_field(), ref_format(tag, v))
                    first = r[tag]
                    self.assertEqual(first, fields[[g.tag for g in fields]
                                                   .index(tag)])
                    if isinstance(v, dict):
                        for s in v["subfields"]:
                            (c, x), = s.items()
                            self.assertEqual(f.get(c), ref_sub(v, c))
                self.assertEqual(str(r), "\n".join(
                    ["=LDR  " + d["leader"]] +
                    [ref_str_field(t, v) for t, v in ref]) + "\n")
        self.assertGreater(n, 100)

    def test_as_marc_reads_back(self):
        # The ISO bytes of every record, written out and read by marcctl,
        # give the same fields.
        path = self.files()[0]
        recs = records(path)
        with tempfile.NamedTemporaryFile(suffix=".mrc", delete=False) as f:
            for r in recs:
                f.write(r.as_marc())
        try:
            back = T.dump_json(f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(len(back), len(recs))
        for r, d in zip(recs, back):
            self.assertEqual(r.as_dict()["fields"], d["fields"])


class RecordErrors(unittest.TestCase):

    def test_encoding_error_on_record(self):
        raw = T.first_record_bytes(FAT)
        i = raw.index(b"Foundation engineering")
        bad = raw[:i] + b"\xff" + raw[i + 1:]
        with T.client() as c:
            recs = list(c.submit(bad + raw))
        self.assertEqual(len(recs), 2)
        r = recs[0]
        self.assertEqual(r["245"]["a"], "\ufffdoundation engineering in the "
                         "face of uncertainty :")
        self.assertEqual(len(r.errors), 1)
        e = r.errors[0]
        self.assertIsInstance(e, marcd.EncodingError)
        self.assertIsInstance(e, marcd.MarcError)
        self.assertEqual(e.name, "invalid-utf8")
        self.assertEqual(e.code, 9)
        self.assertEqual(e.recno, 1)
        self.assertEqual(e.offset, i)
        self.assertIn("UTF-8", e.message)
        self.assertIs(e.record, r)
        self.assertEqual(recs[1].errors, [])
        self.assertEqual(recs[1].recno, 2)
        self.assertEqual(recs[1].offset, len(raw))


if __name__ == "__main__":
    unittest.main()
