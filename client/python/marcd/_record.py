"""Records and fields read straight from a parsed block (pymarc-shaped).

A :class:`Record` is two references: the chunk it lives in and its index
there.  The chunk (``_chunk.Chunk``) holds flat tables that C filled once
for the whole block (record offsets, a string of all tags, field data
ranges), so looking a field up is one ``str.find`` and fetching its bytes
one slice of the block.  Nothing is decoded until asked for; nothing can be
changed.

Decoding follows ``marcctl dump --format marcjson``: text is UTF-8 (the
daemon converted MARC-8 already), anything invalid becomes U+FFFD, and
structural bytes over 0x7F (tag, indicator, subfield code) read as U+FFFD.
Subfields are split as marc_subfields_next does: bytes between the
indicators and the first 0x1F are ignored, empty subfields (0x1F 0x1F, or a
trailing 0x1F) are skipped, a code with no data is an empty value.  A field
is a control field when its tag starts with "00" (marcd's rule).
"""

import json
import re
import struct
from typing import NamedTuple

from ._errors import marc_error

__all__ = ["Record", "Field", "Subfield", "Indicators"]

# Layouts pinned in common/shm.h by _Static_asserts (bump them together).
_HDR = struct.Struct("<IIQIIIII")   # struct rec_hdr up to nlost
_ERR = struct.Struct("<IIQ")        # struct chunk_err
_LEADER_AT = 40                     # offsetof(struct rec_hdr, leader)
_isbn_regex = re.compile(r"([0-9\-xX]+)")


class Subfield(NamedTuple):
    """A subfield, as pymarc 5 has it."""
    code: str
    value: str


class Indicators(NamedTuple):
    """A data field's two indicators, as pymarc 5 has them."""
    first: str
    second: str


def _struct_char(b):
    return chr(b) if b < 0x80 else "\ufffd"


def _clean_tag(tag):
    # tags come from the table as latin-1; bytes over 0x7F read as U+FFFD
    return tag if tag.isascii() else "".join(
        c if c < "\x80" else "\ufffd" for c in tag)


def _subfields(d):
    """Subfield list of a data field's bytes (indicators first)."""
    p = d.find(b"\x1f", 2)
    if p < 0:
        return []
    out = []
    for part in d[p + 1:].split(b"\x1f"):
        if part:
            c = part[0]
            out.append(Subfield(chr(c) if c < 0x80 else "\ufffd",
                                part[1:].decode("utf-8", "replace")))
    return out


# b"\x1f" + code for every ASCII code, so a lookup is one dict get.
_SFKEY = {chr(c): b"\x1f" + bytes([c]) for c in range(0x80) if c != 0x1f}


class Field:
    """A field of a record: ``tag``, and ``data`` (control field) or
    ``indicators`` and ``subfields`` (data field).  Read-only.

    ``field['a']`` is the first $a (KeyError if none), ``field.get('a')``
    the same or None, as in pymarc 5.
    """

    __slots__ = ("tag", "_d", "_sf")
    control_field = False

    def __init__(self, tag, data):
        # Fields are made by records; ``data`` is the field's raw bytes.
        self.tag = tag
        self._d = data

    def is_control_field(self):
        return self.control_field

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, str(self))

    def __eq__(self, other):
        return (isinstance(other, Field) and other.tag == self.tag
                and other._d == self._d)

    def __hash__(self):
        return hash((self.tag, self._d))

    def as_marc(self, encoding=None):
        """The field's bytes as in the UTF-8 ISO 2709 record, with 0x1E."""
        return self._d + b"\x1e"

    as_marc21 = as_marc

    def is_subject_field(self):
        return self.tag.startswith("6")

    def linkage_occurrence_num(self):
        ocn = self.get("6", "")
        return ocn.split("-")[1].split("/")[0] if ocn else None


class ControlField(Field):
    """A control field (tag 00X): only ``data``."""

    __slots__ = ()
    control_field = True
    indicators = None
    indicator1 = ""
    indicator2 = ""

    @property
    def data(self):
        return self._d.decode("utf-8", "replace")

    @property
    def subfields(self):
        return []

    def __getitem__(self, code):
        raise KeyError(code)

    def get(self, code, default=None):
        return default

    def __contains__(self, code):
        return False

    def __iter__(self):
        return iter(())

    def get_subfields(self, *codes):
        return []

    def subfields_as_dict(self):
        return {}

    def value(self):
        return self.data

    format_field = value

    def __str__(self):
        return "=%s  %s" % (self.tag, self.data.replace(" ", "\\"))


class DataField(Field):
    """A data field: indicators and subfields."""

    __slots__ = ()
    data = None

    def __getitem__(self, code):
        d = self._d
        try:
            p = d.find(_SFKEY[code], 2)
        except KeyError:
            return self._slow_get(code)
        if p < 0:
            raise KeyError(code)
        e = d.find(b"\x1f", p + 2)
        v = d[p + 2:e] if e >= 0 else d[p + 2:]
        try:
            return v.decode()
        except UnicodeDecodeError:
            return v.decode("utf-8", "replace")

    def _slow_get(self, code):
        for sf in self.subfields:
            if sf.code == code:
                return sf.value
        raise KeyError(code)

    def get(self, code, default=None):
        try:
            return self[code]
        except KeyError:
            return default

    def __contains__(self, code):
        try:
            self[code]
        except KeyError:
            return False
        return True

    @property
    def subfields(self):
        try:
            return self._sf
        except AttributeError:
            self._sf = sf = _subfields(self._d)
            return sf

    def __iter__(self):
        return iter(self.subfields)

    @property
    def indicators(self):
        d = self._d
        return Indicators(_struct_char(d[0]) if len(d) > 0 else " ",
                          _struct_char(d[1]) if len(d) > 1 else " ")

    @property
    def indicator1(self):
        d = self._d
        return _struct_char(d[0]) if len(d) > 0 else " "

    @property
    def indicator2(self):
        d = self._d
        return _struct_char(d[1]) if len(d) > 1 else " "

    def get_subfields(self, *codes):
        return [sf.value for sf in self.subfields if sf.code in codes]

    def subfields_as_dict(self):
        out = {}
        for sf in self.subfields:
            out.setdefault(sf.code, []).append(sf.value)
        return out

    def value(self):
        return " ".join(sf.value.strip() for sf in self.subfields)

    def format_field(self):
        subj = self.is_subject_field()
        out = ""
        for sf in self.subfields:
            if sf.code == "6":
                continue
            if subj and sf.code in ("v", "x", "y", "z"):
                out += " -- " + sf.value
            else:
                out += " " + sf.value
        return out.strip()

    def __str__(self):
        ind = "".join("\\" if i in (" ", "\\") else i for i in self.indicators)
        return "=%s  %s%s" % (self.tag, ind, "".join(
            "$%s%s" % (sf.code, sf.value) for sf in self.subfields))


def _field_class(tag):
    return ControlField if tag[:2] == "00" else DataField


_KEYS = {}   # tag -> (tag + "\0", field class): the chunk's tag string form


def _key(tag):
    if not isinstance(tag, str):
        raise TypeError("a tag is a str, e.g. '245'")
    v = _KEYS[tag] = (tag + "\0",
                      ControlField if tag[:2] == "00" else DataField)
    return v


_new = object.__new__


class Record:
    """A MARC record, read-only, shaped like pymarc 5's Record.

    ``rec['245']`` is the first 245 (KeyError if none), ``rec.get('245')``
    the same or None; ``rec.get_fields('650', '651')``, ``rec.fields``,
    ``rec.leader`` (leader as read, 09 set to 'a'), ``rec.title``,
    ``rec.isbn``, ``rec.author`` ...; ``rec.as_marc()`` (UTF-8 ISO 2709
    bytes), ``rec.as_dict()``/``rec.as_json()`` (MARC-in-JSON),
    ``str(rec)`` (line format).  ``rec.errors`` lists the problems found in
    it (MarcError objects), ``rec.recno`` and ``rec.offset`` say where it
    was in the input.

    A record keeps its chunk of shared memory in use while it is
    referenced; records held for long are copied out of shared memory by
    the client (transparently) so the daemon never runs out of blocks.
    """

    __slots__ = ("_c", "_i")

    def __init__(self, chunk, i):
        self._c = chunk
        self._i = i

    # -- fields ---------------------------------------------------------
    # chunk.first[i] is where record i's tags start in chunk.tags (4
    # characters a field: the tag and a NUL), chunk.first[i + 1] where
    # they end; field k's data is chunk.blk[fstart[k]:fend[k]].
    def __getitem__(self, tag):
        c = self._c
        i = self._i
        first = c.first
        try:
            k, cls = _KEYS[tag]
        except KeyError:
            k, cls = _key(tag)
        p = c.tags.find(k, first[i], first[i + 1])
        if p < 0:
            raise KeyError(tag)
        if p & 3:
            p = self._aligned(k, p, first[i + 1])
        p >>= 2
        f = _new(cls)
        f.tag = tag
        f._d = c.blk[c.fstart[p]:c.fend[p]]
        return f

    def _aligned(self, k, p, e):
        # a NUL in a tag can make a match start mid-entry: look further
        tags = self._c.tags
        while p >= 0 and p & 3:
            p = tags.find(k, p + 1, e)
        if p < 0:
            raise KeyError(k[:-1])
        return p

    def get(self, tag, default=None):
        try:
            return self[tag]
        except KeyError:
            return default

    def __contains__(self, tag):
        c = self._c
        try:
            k = _KEYS[tag][0] if tag in _KEYS else _key(tag)[0]
        except TypeError:
            return False
        s = c.first[self._i]
        e = c.first[self._i + 1]
        p = c.tags.find(k, s, e)
        while p >= 0 and p & 3:
            p = c.tags.find(k, p + 1, e)
        return p >= 0

    def _field(self, k):
        c = self._c
        tag = c.tags[4 * k:4 * k + 3]
        cls = ControlField if tag[:2] == "00" else DataField
        f = _new(cls)
        f.tag = _clean_tag(tag)
        f._d = c.blk[c.fstart[k]:c.fend[k]]
        return f

    @property
    def fields(self):
        """All fields, in record order (a new list each time)."""
        c = self._c
        return [self._field(k) for k in range(c.first[self._i] >> 2,
                                              c.first[self._i + 1] >> 2)]

    def get_fields(self, *tags):
        if not tags:
            return self.fields
        c = self._c
        t = c.tags
        return [self._field(k) for k in range(c.first[self._i] >> 2,
                                              c.first[self._i + 1] >> 2)
                if t[4 * k:4 * k + 3] in tags]

    def __iter__(self):
        return iter(self.fields)

    def __len__(self):
        c = self._c
        return (c.first[self._i + 1] - c.first[self._i]) >> 2

    # -- the record as a whole -----------------------------------------
    def _hdr(self):
        return _HDR.unpack_from(self._c.blk, self._c.rec_off[self._i])

    @property
    def leader(self):
        o = self._c.rec_off[self._i] + _LEADER_AT
        return self._c.blk[o:o + 24].decode("utf-8", "replace")

    @property
    def recno(self):
        """1-based number of the record in its batch."""
        return self._hdr()[1] + self._c.recno0

    @property
    def offset(self):
        """Byte offset of the record in the input."""
        return self._hdr()[2]

    @property
    def errors(self):
        """The problems found in this record (MarcError objects)."""
        h = self._hdr()
        if not h[6]:
            return []
        return self._c.errors_range(h[5], h[6], self)

    @property
    def errors_lost(self):
        """Further problems, beyond those listed, only counted."""
        return self._hdr()[7]

    def as_marc(self):
        """The record as UTF-8 ISO 2709 bytes (as the daemon stored it)."""
        c = self._c
        i = self._i
        nf = (c.first[i + 1] - c.first[i]) >> 2
        o = c.rec_off[i]
        iso_len = _HDR.unpack_from(c.blk, o)[3]
        o += 64 + 12 * nf
        return c.blk[o:o + iso_len]

    as_marc21 = as_marc

    def as_dict(self):
        """MARC-in-JSON as a dict, as ``marcctl dump --format marcjson``."""
        out = []
        for f in self.fields:
            if f.control_field:
                out.append({f.tag: f.data})
            else:
                out.append({f.tag: {
                    "subfields": [{s.code: s.value} for s in f.subfields],
                    "ind1": f.indicator1, "ind2": f.indicator2}})
        return {"leader": self.leader, "fields": out}

    def as_json(self, **kwargs):
        return json.dumps(self.as_dict(), **kwargs)

    def __str__(self):
        return "\n".join(["=LDR  %s" % self.leader] +
                         [str(f) for f in self.fields]) + "\n"

    def __repr__(self):
        return "<marcd.Record %d: %d fields>" % (self.recno, len(self))

    def detach(self):
        """Copy the record out of shared memory now (see the class doc)."""
        self._c.detach()
        return self

    # -- pymarc's conveniences -----------------------------------------
    def _title_of(self, tag):
        """$a, then " " and $b if there is one, of the first field with tag."""
        f = self.get(tag)
        if not f:
            return None
        title = f.get("a")
        if title:
            sub = f.get("b")
            if sub:
                title += " " + sub
        return title

    @property
    def title(self):
        return self._title_of("245")

    @property
    def issn_title(self):
        return self._title_of("222")

    @property
    def isbn(self):
        f = self.get("020")
        if not f:
            return None
        n = f.get("a")
        if not n:
            return None
        m = _isbn_regex.search(n)
        return m.group(1).replace("-", "") if m else None

    @property
    def issn(self):
        f = self.get("022")
        return f.get("a") if (f and "a" in f) else None

    @property
    def issnl(self):
        f = self.get("022")
        return f["l"] if (f and "l" in f) else None

    @property
    def sudoc(self):
        f = self.get("086")
        return f.format_field() if f else None

    @property
    def author(self):
        f = self.get("100") or self.get("110") or self.get("111")
        return f.format_field() if f else None

    @property
    def uniformtitle(self):
        f = self.get("130") or self.get("240")
        return f.format_field() if f else None

    @property
    def series(self):
        return self.get_fields("440", "490", "800", "810", "811", "830")

    @property
    def subjects(self):
        return self.get_fields(
            "600", "610", "611", "630", "648", "650", "651", "653", "654",
            "655", "656", "657", "658", "662", "690", "691", "696", "697",
            "698", "699")

    @property
    def addedentries(self):
        return self.get_fields(
            "700", "710", "711", "720", "730", "740", "752", "753", "754",
            "790", "791", "792", "793", "796", "797", "798", "799")

    @property
    def location(self):
        return self.get_fields("852")

    @property
    def notes(self):
        return [f for f in self.fields if f.tag[:1] == "5"
                and f.tag in _NOTE_TAGS]

    @property
    def physicaldescription(self):
        return self.get_fields("300")

    @property
    def publisher(self):
        for f in self.get_fields("260", "264"):
            if f.tag == "260":
                return f.get("b")
            if f.tag == "264" and f.indicator2 == "1":
                return f.get("b")
        return None

    @property
    def pubyear(self):
        for f in self.get_fields("260", "264"):
            if f.tag == "260":
                return f.get("c")
            if f.tag == "264" and f.indicator2 == "1":
                return f.get("c")
        return None


_NOTE_TAGS = frozenset((
    "500", "501", "502", "504", "505", "506", "507", "508", "510", "511",
    "513", "514", "515", "516", "518", "520", "521", "522", "524", "525",
    "526", "530", "533", "534", "535", "536", "538", "540", "541", "544",
    "545", "546", "547", "550", "552", "555", "556", "561", "562", "563",
    "565", "567", "580", "581", "583", "584", "585", "586", "590", "591",
    "592", "593", "594", "595", "596", "597", "598", "599"))


def chunk_error(chunk, j, record=None):
    """Error j of a chunk's table as a MarcError (recno from the batch)."""
    code, recno, offset = _ERR.unpack_from(chunk.blk,
                                           chunk.errors_off + 16 * j)
    return marc_error(code, offset, recno + chunk.recno0, record)
