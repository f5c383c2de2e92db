"""The pymarc 5 surface of the package (``import marcd as pymarc``).

Written from pymarc's documented behaviour: reading, building, editing,
every writer and reader, MARCReader's bad-input handling, MARC-8,
pickling, and the regression for input that holds no whole record.  The
readers of MARCXML, MARC-in-JSON and .mrk are the daemon's: their tests
run when this build's daemon reads those formats.
"""

import copy
import io
import json
import os
import pickle
import re
import tempfile
import unittest
import warnings
import xml.etree.ElementTree as ET

import marcdtest as T
import marcd
import marcd as pymarc
from marcd import (Field, Indicators, Leader, Record, Subfield,
                   exceptions)

FAT = os.path.join(T.VALID, "folio-integration-tests__FAT-1204.mrc")
CYR = os.path.join(T.MARC8, "marc-perl__cyrillic.marc")


def corpus(name):
    for d in (T.VALID, T.MALFORMED, T.MARC8):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise unittest.SkipTest("no %s in tests/data" % name)


def reader(target, **kw):
    """A MARCReader on the shared daemon (a private one costs a start)."""
    return pymarc.MARCReader(target, socket=T.daemon().socket, **kw)


def views(path=FAT):
    return list(marcd.read(path, socket=T.daemon().socket))


def book():
    rec = Record()
    rec.add_field(
        Field(tag="001", data="fol05731351"),
        Field(tag="245", indicators=Indicators("0", "1"), subfields=[
            Subfield(code="a", value="The pragmatic programmer : "),
            Subfield(code="b", value="from journeyman to master /"),
            Subfield(code="c", value="Andrew Hunt, David Thomas.")]))
    return rec


def _reads(fmt):
    return marcd.reads_format(fmt)


class EmptyInput(unittest.TestCase):
    """Input that holds no whole record yields nothing, with an error."""

    def test_read_partial_length(self):
        errors = []
        self.assertEqual(list(marcd.read(b"0012", socket=T.daemon().socket,
                                         errors=errors)), [])
        self.assertEqual(len(errors), 1)
        self.assertIsInstance(errors[0], marcd.TruncatedError)

    def test_read_junk_only(self):
        # Input in no format marcd reads is refused as a whole, not read as
        # garbage: one unknown-format error, no records.
        errors = []
        self.assertEqual(list(marcd.read(b"junk" * 10,
                                         socket=T.daemon().socket,
                                         errors=errors)), [])
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0].code, marcd.ErrorCode.UNKNOWN_FORMAT)
        self.assertEqual(errors[0].offset, 0)

    def test_read_junk_between_records(self):
        errors = []
        with open(os.path.join(T.VALID, "solrmarc__uva_001-200.mrc"),
                  "rb") as f:
            data = f.read()
        recs = list(marcd.read(data + b"junk" * 10 + data,
                               socket=T.daemon().socket, errors=errors))
        self.assertEqual(len(recs), 400)
        junk = [e for e in errors + [e for r in recs for e in r.errors]
                if isinstance(e, marcd.JunkError)]
        self.assertEqual(len(junk), 1)
        self.assertEqual(junk[0].offset, len(data))


class LeaderTest(unittest.TestCase):

    def test_positions(self):
        ldr = Leader("00475cas a2200169 i 4500")
        self.assertEqual(ldr.record_length, "00475")
        self.assertEqual(ldr.record_status, "c")
        self.assertEqual(ldr.type_of_record, "a")
        self.assertEqual(ldr.bibliographic_level, "s")
        self.assertEqual(ldr.coding_scheme, "a")
        self.assertEqual(ldr.base_address, "00169")
        self.assertEqual(ldr.encoding_level, " ")
        self.assertEqual(ldr.cataloging_form, "i")
        self.assertEqual(ldr[0:5], "00475")
        self.assertEqual(ldr["type_of_record"], "a")
        self.assertEqual(str(ldr), "00475cas a2200169 i 4500")

    def test_setting(self):
        ldr = Leader("00475cas a2200169 i 4500")
        ldr.record_status = "n"
        ldr[6] = "c"
        ldr[0:5] = "00000"
        ldr["bibliographic_level"] = "m"
        self.assertEqual(str(ldr), "00000ncm a2200169 i 4500")
        with self.assertRaises(exceptions.BadLeaderValue):
            ldr.record_status = "xx"
        with self.assertRaises(exceptions.BadLeaderValue):
            ldr[22] = "abc"
        with self.assertRaises(exceptions.RecordLeaderInvalid):
            Leader("short")

    def test_read_leader_is_a_leader(self):
        r = views()[0]
        self.assertIsInstance(r.leader, Leader)
        self.assertEqual(r.leader.type_of_record, str(r.leader)[6])
        self.assertEqual(r.leader[9], "a")

    def test_changing_read_leader_changes_record(self):
        r = views()[0]
        r.leader.record_status = "d"
        self.assertIs(type(r), Record)
        self.assertEqual(r.leader[5], "d")
        self.assertEqual(r.as_marc()[5:6], b"d")


class Building(unittest.TestCase):

    def test_build_and_serialise(self):
        rec = book()
        raw = rec.as_marc()
        self.assertEqual(int(raw[:5]), len(raw))
        self.assertEqual(raw[9:10], b"a")
        self.assertEqual(raw[-1:], b"\x1d")
        back = Record(data=raw)
        self.assertEqual(back["245"]["a"], "The pragmatic programmer : ")
        self.assertEqual(back["001"].data, "fol05731351")
        self.assertEqual(back.fields, rec.fields)
        self.assertEqual(str(back.leader), raw[:24].decode())
        self.assertEqual(rec.title, "The pragmatic programmer :  from "
                         "journeyman to master /")

    def test_record_arguments(self):
        f = Field("245", Indicators("1", "0"), [Subfield("a", "T")])
        rec = Record(leader="00000nam a2200000 a 4500", fields=[f])
        self.assertEqual(rec["245"]["a"], "T")
        self.assertEqual(str(rec.leader)[5:9], "nam ")
        self.assertEqual(Record(force_utf8=True).leader[9], "a")

    def test_field_rules(self):
        self.assertEqual(Field(tag=1, data="x").tag, "001")
        self.assertTrue(Field("008", data="x").control_field)
        self.assertFalse(Field("ABC").control_field)
        self.assertEqual(Field("245").indicators, Indicators(" ", " "))
        self.assertEqual(Field("245", ["1", "2"]).indicators,
                         Indicators("1", "2"))
        with self.assertRaises(ValueError):
            Field("245", subfields=["a", "x"])
        with self.assertRaises(ValueError):
            Field("245").indicators = ["1", "2", "3"]
        # indicators given as numbers print as pymarc prints them
        self.assertEqual(str(Field("730", [0, " "], [Subfield("a", "T.")])),
                         "=730  0\\$aT.")
        self.assertEqual(Field.convert_legacy_subfields(["a", "1", "b", "2"]),
                         [Subfield("a", "1"), Subfield("b", "2")])

    def test_field_editing(self):
        f = Field("650", Indicators(" ", "0"), [Subfield("a", "Cats"),
                                                Subfield("x", "Behavior")])
        f["a"] = "Dogs"
        f.add_subfield("v", "Juvenile", 1)
        f.add_subfield("z", "End")
        self.assertEqual(f.subfields, [Subfield("a", "Dogs"),
                                       Subfield("v", "Juvenile"),
                                       Subfield("x", "Behavior"),
                                       Subfield("z", "End")])
        self.assertEqual(f.delete_subfield("v"), "Juvenile")
        self.assertIsNone(f.delete_subfield("q"))
        self.assertEqual(f.format_field(), "Dogs -- Behavior -- End")
        self.assertEqual(f.value(), "Dogs Behavior End")
        f.add_subfield("x", "Again")
        with self.assertRaises(KeyError):
            f["x"] = "two of them"
        with self.assertRaises(KeyError):
            f["q"] = "none"
        f.indicator1 = "1"
        f.indicator2 = "7"
        self.assertEqual(str(f), "=650  17$aDogs$xBehavior$zEnd$xAgain")
        self.assertEqual(f.subfields_as_dict(),
                         {"a": ["Dogs"], "x": ["Behavior", "Again"],
                          "z": ["End"]})
        c = Field("001", data="x y")
        self.assertEqual(str(c), "=001  x\\y")
        with self.assertRaises(KeyError):
            c["a"] = "b"

    def test_record_editing(self):
        rec = book()
        rec.add_ordered_field(Field("100", Indicators("1", " "),
                                    [Subfield("a", "Hunt")]))
        rec.add_ordered_field(Field("020", data=None))
        rec.add_grouped_field(Field("130", Indicators("0", " "),
                                    [Subfield("a", "U")]))
        rec.add_field(Field("999", subfields=[Subfield("a", "local")]))
        self.assertEqual([f.tag for f in rec.fields],
                         ["001", "020", "100", "130", "245", "999"])
        f = rec["130"]
        rec.remove_field(f)
        with self.assertRaises(exceptions.FieldNotFound):
            rec.remove_field(f)
        rec.remove_fields("020", "999")
        self.assertEqual([f.tag for f in rec], ["001", "100", "245"])
        self.assertEqual(rec.author, "Hunt")

    def test_linked_fields(self):
        rec = Record()
        f = Field("245", subfields=[Subfield("6", "880-01"),
                                    Subfield("a", "T")])
        g = Field("880", subfields=[Subfield("6", "245-01/$1"),
                                    Subfield("a", "T'")])
        rec.add_field(f, g)
        self.assertEqual(rec.get_linked_fields(f), [g])
        h = Field("246", subfields=[Subfield("6", "880-02")])
        with self.assertRaises(exceptions.MissingLinkedFields):
            rec.get_linked_fields(h)

    def test_decode_errors_as_pymarc(self):
        with self.assertRaises(exceptions.BaseAddressNotFound):
            Record(data=b"00030nam a2200000 a 4500\x1e\x1d\x1d\x1d\x1d\x1d")
        with self.assertRaises(exceptions.NoFieldsFound):
            Record(data=b"00026nam a2200025 a 4500\x1e\x1d")


class Thawing(unittest.TestCase):
    """Records read from shared memory become ordinary when touched."""

    def test_append_to_fields(self):
        r = views()[1]
        r.fields.append(Field("999", subfields=[Subfield("a", "x")]))
        self.assertIs(type(r), Record)
        self.assertEqual(r["999"]["a"], "x")
        self.assertIsNone(r._c)         # the chunk is let go

    def test_field_edit_lands_in_record(self):
        r = views()[0]
        f = r["245"]
        stale = r.get_fields("245")[0]
        f["a"] = "New"
        self.assertEqual(r["245"]["a"], "New")
        self.assertEqual(r.title.split()[0], "New")
        stale.add_subfield("z", "later")      # a field handed out before
        self.assertEqual(r["245"]["z"], "later")
        self.assertIn(b"\x1fzlater", r.as_marc())

    def test_subfields_list_and_setters(self):
        r = views()[0]
        r["245"].subfields.append(Subfield("q", "added"))
        self.assertEqual(r["245"]["q"], "added")
        r2 = views()[0]
        r2["245"].tag = "246"
        self.assertNotIn("245", r2)
        r3 = views()[0]
        r3["008"].data = "changed"
        self.assertEqual(r3["008"].data, "changed")

    def test_pickle_copy_deepcopy(self):
        for r in views():
            want = r.as_dict()
            p = pickle.loads(pickle.dumps(r))
            self.assertEqual(p.as_dict(), want)
            self.assertEqual(p, r)
            self.assertEqual(p.recno, r.recno)
            d = copy.deepcopy(r)
            self.assertEqual(d, r)
            d["245"]["a"] = "only in the copy"
            self.assertNotEqual(d["245"]["a"], r["245"]["a"])
            self.assertEqual(copy.copy(r), r)
        f = views()[0]["245"]
        self.assertEqual(pickle.loads(pickle.dumps(f)), f)

    def test_detached_record_pickles(self):
        r = views()[2]
        r.detach()
        self.assertEqual(pickle.loads(pickle.dumps(r)), r)

    def test_equal_by_content(self):
        a = views()
        b = views()
        self.assertEqual(a, b)
        self.assertNotEqual(a[0], a[1])
        self.assertEqual(a[0], Record(data=a[0].as_marc()))
        twice = list(marcd.read(a[0].as_marc() * 2,
                                socket=T.daemon().socket))
        self.assertEqual(twice[0], twice[1])        # same chunk, same text

    def test_edited_record_rebuilt_in_c(self):
        # A record whose fields changed only in content is rebuilt by
        # marcd_py_block_rebuild: the same bytes as the Python writer's.
        n = 0
        for path in T.valid_files()[:12] + T.marc8_files()[:4]:
            for r in views(path):
                f = r.get("245")
                if f is None:
                    continue
                f.add_subfield("z", "added \u00e9")
                r["008" if "008" in r else "001"].data = "new data"
                self.assertIs(type(r), marcd._record._EditedView)
                fast = r.as_marc()
                self.assertEqual(int(fast[:5]), len(fast))
                r._thaw()
                self.assertIs(type(r), Record)
                self.assertEqual(fast, r.as_marc())
                n += 1
        self.assertGreater(n, 10)

    def test_reading_does_not_thaw(self):
        r = views()[0]
        r["245"]["a"]
        list(r.fields)
        r.get_fields("650")
        str(r)
        self.assertIs(type(r), marcd._record.ViewRecord)


class Reading(unittest.TestCase):

    def test_plain_records(self):
        # Records read are views (a Record subclass); plain_records=True
        # gives pymarc's type, the same content, bad records still None.
        for name in ("pymarc__test.dat", "pymarc__bad_records.mrc"):
            path = corpus(name)
            views_ = list(reader(path))
            plain = list(reader(path, plain_records=True))
            self.assertTrue(any(type(r) is not Record
                                for r in views_ if r is not None))
            self.assertEqual([type(r) for r in plain if r is not None],
                             [Record] * sum(r is not None for r in plain))
            self.assertEqual([r and r.as_dict() for r in plain],
                             [r and r.as_dict() for r in views_])

    def test_bytes_file_path(self):
        path = corpus("pymarc__test.dat")
        with open(path, "rb") as fh:
            data = fh.read()
        with open(path, "rb") as fh:
            a = [r.as_dict() for r in reader(fh)]
            fh.seek(0)
            d = [r.as_dict() for r in reader(io.BytesIO(fh.read()))]
        b = [r.as_dict() for r in reader(data)]
        c = [r.as_dict() for r in reader(path)]
        self.assertEqual(len(a), 10)
        self.assertEqual(a, b)
        self.assertEqual(a, c)
        self.assertEqual(a, d)

    def test_private_daemon_and_map_records(self):
        path = corpus("pymarc__test.dat")
        n = []
        with open(path, "rb") as f1, open(path, "rb") as f2:
            pymarc.map_records(n.append, f1, f2)
        self.assertEqual(len(n), 20)
        self.assertEqual(n[0]["245"]["a"], "ActivePerl with ASP and ADO /")

    def test_abandoned_reader_leaves_connection_usable(self):
        path = corpus("pymarc__test.dat")
        for _ in range(3):
            rd = reader(path)
            next(rd)
            rd.close()
        self.assertEqual(len(list(reader(path))), 10)

    def test_next_and_string(self):
        rd = reader(corpus("pymarc__test.dat"))
        first = next(rd)
        self.assertRegex(str(first), r"^=LDR")
        self.assertEqual(sum(1 for _ in rd), 9)
        self.assertIsNone(rd.current_exception)

    def test_permissive(self):
        rd = reader(corpus("pymarc__bad_records.mrc"), permissive=True)
        want = [None, exceptions.BaseAddressInvalid,
                exceptions.BaseAddressNotFound,
                exceptions.RecordDirectoryInvalid, UnicodeDecodeError,
                ValueError, exceptions.NoFieldsFound, None,
                exceptions.TruncatedRecord]
        got = []
        for rec in rd:
            self.assertIsNotNone(rd.current_chunk)
            if rec is None:
                got.append(type(rd.current_exception))
            else:
                self.assertIsNone(rd.current_exception)
                self.assertEqual(rec["245"]["a"],
                                 "The pragmatic programmer : ")
                got.append(None)
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            self.assertTrue(g is w if w is None else issubclass(g, w),
                            (g, w))

    def test_truncated_inputs(self):
        cases = [(b"0012", exceptions.TruncatedRecord),
                 (b"0012X", exceptions.RecordLengthInvalid),
                 (b"00120cam", exceptions.TruncatedRecord),
                 (b"00006 ", exceptions.EndOfRecordNotFound)]
        for data, exc in cases:
            with self.subTest(data=data):
                rd = reader(data)
                self.assertEqual(list(rd), [None])
                self.assertEqual(rd.current_chunk, data)
                self.assertIsInstance(rd.current_exception, exc)
        self.assertEqual(list(reader(b"")), [])

    def test_raw_records(self):
        path = corpus("pymarc__test.dat")
        recs = list(reader(path, to_unicode=False))
        self.assertEqual(len(recs), 10)
        f = recs[0]["245"]
        self.assertIsInstance(f, pymarc.RawField)
        self.assertIsInstance(f["a"], bytes)
        with open(path, "rb") as fh:
            data = fh.read()
        first = data[:int(data[:5])]
        self.assertEqual(recs[0].as_marc(), first)

    def test_file_encoding(self):
        rec = next(reader(corpus("pymarc__1251.dat"),
                          file_encoding="cp1251"))
        self.assertTrue(any("\u0400" <= ch <= "\u04ff"
                            for ch in rec["245"]["a"]))

    def test_utf8_handling(self):
        path = corpus("traject__bad_utf_byte.utf8.marc")
        rd = reader(path)
        strict = list(rd)
        self.assertEqual(strict, [None])
        self.assertIsInstance(rd.current_exception, UnicodeDecodeError)
        rep = list(reader(path, utf8_handling="replace"))
        self.assertNotIn(None, rep)
        ign = list(reader(path, utf8_handling="ignore"))
        self.assertNotIn(None, ign)
        self.assertFalse(any("\ufffd" in str(r) for r in ign))

    def test_bad_subfield_code_normalised(self):
        rec = next(reader(corpus("traject__bad_subfield_code.marc")))
        codes = [sf.code for f in rec.fields for sf in f.subfields]
        self.assertNotIn("\ufffd", codes)
        self.assertTrue(all(len(c) == 1 and c.isascii() for c in codes))
        self.assertEqual(rec["260"].get_subfields("a")[0], "Paris")
        self.assertEqual(len(rec["260"].get_subfields("a")), 2)

    def test_non_ascii_subfield_codes(self):
        # A code byte over 0x7F: pymarc reads the character there (UTF-8,
        # else Latin-1) and keeps its ASCII letter; the daemon does the
        # same, and the record says so with a bad-subfield-code.
        def iso(fields, ld9=b"a"):
            dirs = data = b""
            for tag, d in fields:
                d += b"\x1e"
                dirs += tag + b"%04d%05d" % (len(d), len(data))
                data += d
            base = 24 + len(dirs) + 1
            return (b"%05d" % (base + len(data) + 1) + b"cam " + ld9 +
                    b"22" + b"%05d" % base + b"   4500" + dirs + b"\x1e" +
                    data + b"\x1d")
        raw = (iso([(b"001", b"x1"),
                    (b"650", b" 0\x1f\xc3\xb6Owls\x1fxPoetry.")]) +
               iso([(b"650", b" 0\x1f\xf6Herons")]) +
               iso([(b"650", b" 0\x1fvok\x1f\xe2aCranes")], b" "))
        want = [[("o", "Owls"), ("x", "Poetry.")], [("o", "Herons")],
                [("v", "ok"), ("a", "aCranes")]]
        with tempfile.NamedTemporaryFile(suffix=".mrc") as tmp:
            tmp.write(raw)
            tmp.flush()
            got = views(tmp.name)
        self.assertEqual([[tuple(sf) for sf in r["650"].subfields]
                          for r in got], want)
        for r in got:
            self.assertEqual([e.code for e in r.errors],
                             [marcd.ErrorCode.SUBFIELD_CODE])
            self.assertEqual(r.errors[0].name, "bad-subfield-code")
        self.assertEqual(got[0]["650"]["o"], "Owls")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            recs = list(reader(raw))
        self.assertEqual([[tuple(sf) for sf in r["650"].subfields]
                          for r in recs], want)
        self.assertTrue(any(issubclass(w.category,
                                       exceptions.BadSubfieldCodeWarning)
                            for w in caught))

    def test_pymarc_files(self):
        rec = next(reader(corpus("pymarc__bad_indicator.dat")))
        self.assertEqual(rec["245"]["a"], "Aristocrats of color :")
        rec = next(reader(corpus("pymarc__regression45.dat")))
        self.assertEqual(rec["752"]["a"], "Russian Federation")
        self.assertEqual(rec["752"]["d"], "Kostroma")


class Writing(unittest.TestCase):

    def test_marc_writer_round_trip(self):
        recs = views()
        buf = io.BytesIO()
        w = pymarc.MARCWriter(buf)
        for r in recs:
            w.write(r)
        recs[0]["245"]["a"] = "Changed"
        w.write(recs[0])
        w.close(close_fh=False)
        back = list(reader(buf.getvalue()))
        self.assertEqual(len(back), len(recs) + 1)
        self.assertEqual(back[:-1][1:], recs[1:])
        self.assertEqual(back[-1]["245"]["a"], "Changed")
        with self.assertRaises(exceptions.WriteNeedsRecord):
            w = pymarc.MARCWriter(io.BytesIO())
            w.write("not a record")

    def test_json_writer(self):
        recs = views()
        buf = io.StringIO()
        w = pymarc.JSONWriter(buf)
        for r in recs:
            w.write(r)
        w.close(close_fh=False)
        self.assertEqual(json.loads(buf.getvalue()),
                         [r.as_dict() for r in recs])
        self.assertEqual([r.as_dict() for r in
                          pymarc.JSONHandler().elements(
                              json.loads(buf.getvalue()))],
                         [r.as_dict() for r in recs])

    def test_text_writer(self):
        recs = views()
        buf = io.StringIO()
        w = pymarc.TextWriter(buf)
        for r in recs:
            w.write(r)
        w.close(close_fh=False)
        self.assertEqual(buf.getvalue(), "\n".join(str(r) for r in recs))

    def test_xml_writer(self):
        recs = views()
        buf = io.BytesIO()
        w = pymarc.XMLWriter(buf)
        for r in recs:
            w.write(r)
        w.close(close_fh=False)
        root = ET.fromstring(buf.getvalue())
        ns = "{http://www.loc.gov/MARC21/slim}"
        self.assertEqual(root.tag, ns + "collection")
        rs = root.findall(ns + "record")
        self.assertEqual(len(rs), len(recs))
        self.assertEqual(rs[0].find(ns + "leader").text, str(recs[0].leader))
        a = [s.text for s in rs[0].iter(ns + "subfield")]
        self.assertEqual(a, [sf.value for f in recs[0].fields
                             for sf in f.subfields])

    def test_record_to_xml(self):
        rec = book()
        x = pymarc.record_to_xml(rec)
        self.assertTrue(x.startswith(b"<record>"))
        self.assertIn(b'<datafield ind1="0" ind2="1" tag="245">', x)
        n = pymarc.record_to_xml(rec, namespace=True)
        self.assertIn(b'xmlns="http://www.loc.gov/MARC21/slim"', n)


class Marc8(unittest.TestCase):

    def test_marc8_to_unicode(self):
        self.assertEqual(pymarc.marc8_to_unicode(b"\xe1a"), "\u00e0")
        self.assertEqual(pymarc.marc8_to_unicode(b"plain"), "plain")
        self.assertEqual(pymarc.MARC8ToUnicode().translate(b"\xe2e"),
                         "\u00e9")
        # Cyrillic set designated by an escape
        self.assertEqual(pymarc.marc8_to_unicode(b"\x1b(NA\x1b(B"),
                         "\u0430")

    def test_half_marks_as_pymarc(self):
        # The ligature and double tilde halves: the Library of Congress
        # (and MARC::Charset) mapping by default, pymarc's on request.
        self.assertEqual(pymarc.marc8_to_unicode(b"\xebt\xecs"), "t\u0361s")
        self.assertEqual(pymarc.marc8_to_unicode(b"\xebt\xecs",
                                                 half_marks=True),
                         "t\ufe20s\ufe21")
        self.assertEqual(pymarc.MARC8ToUnicode(half_marks=True).translate(
            b"\xfan\xfbg"), "n\ufe22g\ufe23")
        fld = b"10\x1faKhwa\xebt\xecsa\x1e"
        raw = (b"%05dnam  22%05d   4500" % (24 + 13 + len(fld) + 1, 37) +
               b"245%04d00000\x1e" % len(fld) + fld + b"\x1d")
        self.assertEqual(next(reader(raw))["245"]["a"], "Khwat\u0361sa")
        rd = reader(raw, marc8_half_marks=True)
        self.assertEqual(next(rd)["245"]["a"], "Khwat\ufe20s\ufe21a")
        self.assertEqual(Record(raw, marc8_half_marks=True)["245"]["a"],
                         "Khwat\ufe20s\ufe21a")

    def test_same_as_daemon(self):
        # Record(data=MARC-8 bytes) decodes with the same C decoder the
        # daemon uses: both give the same text.
        if not os.path.exists(CYR):
            self.skipTest("no MARC-8 samples")
        raw = T.first_record_bytes(CYR)
        self.assertEqual(raw[9:10], b" ")
        mine = Record(data=raw)
        theirs = views(CYR)[0]
        self.assertEqual(mine.as_dict()["fields"],
                         theirs.as_dict()["fields"])


class Package(unittest.TestCase):

    def test_version_is_configures(self):
        self.assertEqual(marcd.__version__, marcd.library_version())
        with open(os.path.join(T.SRCDIR, "client", "python",
                               "pyproject.toml")) as f:
            m = re.search(r'^version = "([^"]+)"', f.read(), re.M)
        self.assertEqual(m.group(1), marcd.__version__)

    def test_pymarc_names(self):
        for name in ("MARCReader", "Record", "Field", "Subfield",
                     "Indicators", "Leader", "RawField", "MARCWriter",
                     "JSONWriter", "XMLWriter", "TextWriter", "Writer",
                     "record_to_xml", "record_to_xml_node", "JSONReader",
                     "parse_json_to_array", "parse_xml_to_array", "map_xml",
                     "parse_xml", "MARCMakerReader", "map_records",
                     "marc8_to_unicode", "MARC8ToUnicode", "XmlHandler",
                     "JSONHandler", "Reader", "map_marc8_record",
                     "map_marc8_field", "normalize_subfield_code",
                     "LEADER_LEN", "END_OF_RECORD", "PymarcException",
                     "RecordLengthInvalid", "BaseAddressInvalid",
                     "RecordDirectoryInvalid", "EndOfRecordNotFound",
                     "TruncatedRecord", "FatalReaderError",
                     "BadSubfieldCodeWarning", "MissingLinkedFields"):
            self.assertTrue(hasattr(pymarc, name), name)
            self.assertIn(name, pymarc.__all__)
        self.assertTrue(issubclass(exceptions.TruncatedRecord,
                                   exceptions.FatalReaderError))

    def test_error_codes_defined_once(self):
        for code in marcd.ErrorCode:
            if code:
                self.assertEqual(marcd.MarcError(code).name,
                                 T.marcd._lib.code_name(code))
        self.assertEqual(marcd.ServiceError(-9).name, "MARCD_E_INVALID")
        self.assertEqual(marcd.ServiceCode.MARCD_E_INVALID, -9)

    def test_typed(self):
        self.assertTrue(os.path.exists(os.path.join(
            os.path.dirname(marcd.__file__), "py.typed")))


@unittest.skipUnless(_reads("marcxml"), "this build's daemon does not read "
                     "MARCXML yet (the C format readers): skipped")
class XmlReading(unittest.TestCase):

    def test_round_trip(self):
        recs = views()
        buf = io.BytesIO()
        w = pymarc.XMLWriter(buf)
        for r in recs:
            w.write(r)
        w.close(close_fh=False)
        back = pymarc.parse_xml_to_array(io.BytesIO(buf.getvalue()))
        self.assertEqual([r.as_dict()["fields"] for r in back],
                         [r.as_dict()["fields"] for r in recs])
        seen = []
        pymarc.map_xml(seen.append, io.BytesIO(buf.getvalue()))
        self.assertEqual(len(seen), len(recs))


@unittest.skipUnless(_reads("marcjson"), "this build's daemon does not read "
                     "MARC-in-JSON yet (the C format readers): skipped")
class JsonReading(unittest.TestCase):

    def test_round_trip(self):
        recs = views()
        text = json.dumps([r.as_dict() for r in recs])
        back = pymarc.parse_json_to_array(io.StringIO(text))
        self.assertEqual([r.as_dict()["fields"] for r in back],
                         [r.as_dict()["fields"] for r in recs])
        self.assertEqual(len(list(pymarc.JSONReader(text))), len(recs))

    def test_raw_newline_in_a_string(self):
        # Not JSON, but pymarc reads it (json with strict=False): the
        # record is read with its newline, and carries a bad-json error.
        text = ('[{"leader": "00000nam a2200000 a 4500", "fields": ['
                '{"001": "x1"}, {"245": {"ind1": "1", "ind2": "0", '
                '"subfields": [{"a": "Line one\nline\ttwo"}]}}]},'
                '{"leader": "00000nam a2200000 a 4500", "fields": '
                '[{"001": "x2"}]}]')
        recs = list(pymarc.JSONReader(text))
        self.assertEqual([r["001"].data for r in recs], ["x1", "x2"])
        self.assertEqual(recs[0]["245"]["a"], "Line one\nline\ttwo")
        self.assertEqual([e.name for e in recs[0].errors], ["bad-json"])
        self.assertEqual(recs[0].errors[0].offset, text.index("\n"))
        self.assertEqual(recs[1].errors, [])


@unittest.skipUnless(_reads("mrk"), "this build's daemon does not read .mrk "
                     "yet (the C format readers): skipped")
class MrkReading(unittest.TestCase):

    def test_round_trip(self):
        recs = views()
        text = "\n".join(str(r) for r in recs)
        back = list(pymarc.MARCMakerReader(text))
        self.assertEqual([str(r) for r in back], [str(r) for r in recs])

    def test_unreadable_line_raises(self):
        # pymarc raises PymarcException naming the line it cannot read
        for line in ("=009 x1", "TAG  10$aNo equals sign", "=1"):
            rd = pymarc.MARCMakerReader(line + "\n")
            with self.assertRaises(exceptions.PymarcException) as cm:
                next(rd)
            self.assertEqual(str(cm.exception),
                             'Unable to parse line "%s"' % line)
        rd = pymarc.MARCMakerReader("")
        self.assertEqual(str(rd._parse_line("=LDR  01234nas  2200111 a 4500")),
                         "01234nas  2200111 a 4500")
        f = rd._parse_line("=650  \\0$aOwls$vPoetry.")
        self.assertEqual((f.tag, f.indicators, f.get_subfields("a", "v")),
                         ("650", Indicators(" ", "0"), ["Owls", "Poetry."]))
        self.assertEqual(rd._parse_line("=001  x 1").data, "x 1")
        with self.assertRaisesRegex(ValueError, "start with"):
            rd._parse_line("650  \\0$aOwls")
        with self.assertRaisesRegex(ValueError, "two spaces"):
            rd._parse_line("=650 \\0$aOwls")
        good = "=LDR  00000nam a2200000 a 4500\n=245  10$aOne\n"
        self.assertEqual([r["245"]["a"] for r in
                          pymarc.MARCMakerReader(good)], ["One"])

    def test_bad_line_record_not_given(self):
        # `=LDR` with one space is refused, as pymarc refuses it; the
        # records before the one holding a bad line are given, that one
        # is not.
        one = "=LDR 00755cam  22002414a 4500"
        with self.assertRaises(exceptions.PymarcException) as cm:
            next(pymarc.MARCMakerReader(one))
        self.assertEqual(str(cm.exception), 'Unable to parse line "%s"'
                         % one)
        text = ("=LDR  00000nam a2200000 a 4500\n=245  10$aOne\n\n"
                "=LDR  00000nam a2200000 a 4500\n=245  10$aTwo\n"
                "=1\n\n=LDR  00000nam a2200000 a 4500\n=245  10$aThree\n")
        rd = pymarc.MARCMakerReader(text)
        self.assertEqual(next(rd)["245"]["a"], "One")
        with self.assertRaises(exceptions.PymarcException) as cm:
            next(rd)
        self.assertEqual(str(cm.exception), 'Unable to parse line "=1"')


if __name__ == "__main__":
    unittest.main()
