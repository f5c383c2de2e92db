"""Records as pymarc 5 has them: build, edit, serialise.

``Record`` is pymarc's Record.  Records read from shared memory are
``Record`` too (a zero-copy subclass, see ``marcd._record``) until their
first change, ``copy``, ``deepcopy`` or ``pickle``, which turns them into
an ordinary ``Record`` owning its data; code written for pymarc cannot
tell them apart.
"""

import json
import re
import warnings
from typing import Any, Dict, List, Optional

from .constants import (DIRECTORY_ENTRY_LEN, END_OF_FIELD, END_OF_RECORD,
                        LEADER_LEN, SUBFIELD_INDICATOR)
from .exceptions import (BadSubfieldCodeWarning, BaseAddressInvalid,
                         BaseAddressNotFound, FieldNotFound,
                         MissingLinkedFields, NoFieldsFound,
                         RecordDirectoryInvalid, RecordLeaderInvalid,
                         TruncatedRecord)
from .field import (Field, Indicators, RawField, Subfield, _ViewField,
                    map_marc8_field, normalize_subfield_code)
from .leader import Leader

__all__ = ["Record", "map_marc8_record", "normalize_subfield_code"]

isbn_regex = re.compile(r"([0-9\-xX]+)")

_SUBJECT_TAGS = (
    "600", "610", "611", "630", "648", "650", "651", "653", "654", "655",
    "656", "657", "658", "662", "690", "691", "696", "697", "698", "699")
_ADDED_TAGS = (
    "700", "710", "711", "720", "730", "740", "752", "753", "754", "790",
    "791", "792", "793", "796", "797", "798", "799")
_NOTE_TAGS = (
    "500", "501", "502", "504", "505", "506", "507", "508", "510", "511",
    "513", "514", "515", "516", "518", "520", "521", "522", "524", "525",
    "526", "530", "533", "534", "535", "536", "538", "540", "541", "544",
    "545", "546", "547", "550", "552", "555", "556", "561", "562", "563",
    "565", "567", "580", "581", "583", "584", "585", "586", "590", "591",
    "592", "593", "594", "595", "596", "597", "598", "599")


class Record:
    """A MARC record, as pymarc 5's.

    ``Record()``, ``Record(data=iso2709_bytes)``, ``Record(leader=...,
    fields=[...], force_utf8=..., to_unicode=...)``.  ``rec['245']``
    (KeyError if absent), ``get``, ``get_fields``, ``add_field``,
    ``add_ordered_field``, ``add_grouped_field``, ``remove_field``,
    ``remove_fields``, ``get_linked_fields``, ``as_marc``, ``as_dict``,
    ``as_json``, ``str(rec)``, ``title``, ``isbn``, ``author`` ... .
    Records compare equal by content (leader and fields), and pickle.

    Read from marcd, a record also has ``errors`` (MarcError objects: the
    problems found in it), ``recno`` and ``offset`` (where it was in the
    input); a record built here has none.
    """

    __slots__ = ("leader", "fields", "pos", "force_utf8", "to_unicode",
                 "_orig", "_meta", "_c", "_i", "_ov", "__weakref__")

    def __init__(self, data: bytes = b"", fields: Optional[List[Field]] = None,
                 to_unicode: bool = True, force_utf8: bool = False,
                 hide_utf8_warnings: bool = False,
                 utf8_handling: str = "strict",
                 leader: str = " " * LEADER_LEN,
                 file_encoding: str = "iso8859-1",
                 marc8_half_marks: bool = False) -> None:
        self.leader = Leader(leader[0:10] + "22" + leader[12:20] + "4500")
        self.fields = []
        self.pos = 0
        self.force_utf8 = force_utf8
        self.to_unicode = to_unicode
        self._orig = None
        self._meta = None
        if fields:
            self.fields = fields
        elif len(data) > 0:
            self.decode_marc(data, to_unicode=to_unicode,
                             force_utf8=force_utf8,
                             hide_utf8_warnings=hide_utf8_warnings,
                             utf8_handling=utf8_handling,
                             encoding=file_encoding,
                             marc8_half_marks=marc8_half_marks)
        elif force_utf8:
            self.leader = Leader(str(self.leader)[0:9] + "a"
                                 + str(self.leader)[10:])

    # -- what marcd adds -----------------------------------------------
    @property
    def errors(self) -> list:
        """The problems marcd found in the record (MarcError objects)."""
        return list(self._meta[2]) if self._meta else []

    @property
    def errors_lost(self) -> int:
        """Further problems, beyond those listed, only counted."""
        return self._meta[3] if self._meta else 0

    @property
    def recno(self) -> Optional[int]:
        """1-based number of the record in its batch (None if built)."""
        return self._meta[0] if self._meta else None

    @property
    def offset(self) -> Optional[int]:
        """Byte offset of the record in its input (None if built)."""
        return self._meta[1] if self._meta else None

    def detach(self) -> "Record":
        """Nothing to do: the record owns its data."""
        return self

    # -- reading -------------------------------------------------------
    def __getitem__(self, tag: str) -> Field:
        for f in self.fields:
            if f.tag == tag:
                return f
        raise KeyError(tag)

    def get(self, tag: str, default: Optional[Field] = None) -> Optional[Field]:
        """The first field tagged ``tag``, else ``default``."""
        try:
            return self[tag]
        except KeyError:
            return default

    def __contains__(self, tag: str) -> bool:
        for f in self.fields:
            if f.tag == tag:
                return True
        return False

    def __iter__(self):
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __bool__(self) -> bool:
        # a record is true even with no field, as pymarc's
        return True

    def get_fields(self, *tags: str) -> List[Field]:
        """Fields tagged with any of ``tags`` (all fields if none given)."""
        if not tags:
            return self.fields
        return [f for f in self.fields if f.tag in tags]

    def get_linked_fields(self, field: Field) -> List[Field]:
        """The 880 fields linked to ``field`` by $6 (MissingLinkedFields if
        it has a $6 and there are none)."""
        num = field.linkage_occurrence_num()
        linked = [f for f in self.get_fields("880")
                  if f.linkage_occurrence_num() == num]
        if num is not None and not linked:
            raise MissingLinkedFields(field)
        return linked

    # -- changing ------------------------------------------------------
    def _field_thawed(self, f: Field) -> None:
        # A field handed out before this record owned its data was changed:
        # it takes the place of the copy made when the record was thawed.
        orig = self._orig
        if not orig:
            return
        old = orig.get(f._k)
        if old is None or old is f:
            return
        for i, x in enumerate(self.fields):
            if x is old:
                self.fields[i] = f
                orig[f._k] = f
                return

    def _leader_changed(self, leader: Leader) -> None:
        pass

    def _thaw(self, lst=None) -> None:
        pass

    def add_field(self, *fields: Field) -> None:
        """Append fields."""
        self.fields.extend(fields)

    def add_grouped_field(self, *fields: Field) -> None:
        """Insert fields after the last of the same hundred (0XX, 1XX ...)."""
        for f in fields:
            if not self.fields or not f.tag.isdigit():
                self.fields.append(f)
            else:
                self._sort_fields(f, "grouped")

    def add_ordered_field(self, *fields: Field) -> None:
        """Insert fields in tag order."""
        for f in fields:
            if not self.fields or not f.tag.isdigit():
                self.fields.append(f)
            else:
                self._sort_fields(f, "ordered")

    def _sort_fields(self, field: Field, mode: str) -> None:
        key = int(field.tag[0]) if mode == "grouped" else int(field.tag)
        for i, f in enumerate(self.fields, 1):
            if not f.tag.isdigit():
                self.fields.insert(i - 1, field)
                break
            k = int(f.tag[0]) if mode == "grouped" else int(f.tag)
            if k > key:
                self.fields.insert(i - 1, field)
                break
            if len(self.fields) == i:
                self.fields.append(field)
                break

    def remove_field(self, *fields: Field) -> None:
        """Remove these field objects (FieldNotFound if one is absent)."""
        for f in fields:
            if isinstance(f, _ViewField) and f._r is self:
                f._thaw()
            for i, x in enumerate(self.fields):
                if x is f:
                    del self.fields[i]
                    break
            else:
                try:
                    self.fields.remove(f)
                except ValueError:
                    raise FieldNotFound from None

    def remove_fields(self, *tags: str) -> None:
        """Remove every field tagged with any of ``tags``."""
        self.fields[:] = [f for f in self.fields if f.tag not in tags]

    # -- ISO 2709 ------------------------------------------------------
    def decode_marc(self, marc: bytes, to_unicode: bool = True,
                    force_utf8: bool = False, hide_utf8_warnings: bool = False,
                    utf8_handling: str = "strict",
                    encoding: str = "iso8859-1",
                    marc8_half_marks: bool = False) -> None:
        """Fill the record from one record's ISO 2709 bytes, as pymarc
        does: MARC-8 (leader/09 blank) is converted by libmarcd's decoder,
        UTF-8 decoded with ``utf8_handling``, ``encoding`` other than
        iso8859-1 used as is; ``to_unicode=False`` keeps bytes (RawField).
        ``marc8_half_marks``: pymarc's mapping of the MARC-8 ligature and
        double tilde halves (see ``marc8_to_unicode``).
        """
        from .marc8 import marc8_to_unicode
        leader = marc[0:LEADER_LEN].decode("ascii")
        if len(leader) != LEADER_LEN:
            raise RecordLeaderInvalid
        if leader[9] == "a" or self.force_utf8 or force_utf8:
            encoding = "utf-8"
        self.leader = Leader(leader)
        base = int(marc[12:17])
        if base <= 0:
            raise BaseAddressNotFound
        if base >= len(marc):
            raise BaseAddressInvalid
        if len(marc) < int(leader[:5]):
            raise TruncatedRecord
        directory = marc[LEADER_LEN:base - 1].decode("ascii")
        if len(directory) % DIRECTORY_ENTRY_LEN:
            raise RecordDirectoryInvalid
        utf8 = leader[9] == "a" or force_utf8
        fcls = Field if to_unicode else RawField
        n = 0
        for n in range(1, len(directory) // DIRECTORY_ENTRY_LEN + 1):
            e = directory[(n - 1) * 12:n * 12]
            tag = e[0:3]
            length = int(e[3:7])
            off = int(e[7:12])
            data = marc[base + off:base + off + length - 1]
            if tag < "010" and tag.isdigit():
                self.fields.append(fcls(tag, data=data.decode(encoding)
                                        if to_unicode else data))
                continue
            subs = data.split(SUBFIELD_INDICATOR.encode("ascii"))
            ind = subs[0].decode("ascii")
            ind = (ind + "  ")[:2]
            sfs = []
            for sub in subs[1:]:
                if not sub:
                    continue
                skip = 1
                try:
                    code = sub[0:1].decode("ascii")
                except UnicodeDecodeError:
                    warnings.warn(BadSubfieldCodeWarning(), stacklevel=2)
                    code, skip = normalize_subfield_code(sub)
                value = sub[skip:]
                if to_unicode:
                    if utf8:
                        value = value.decode("utf-8", utf8_handling)
                    elif encoding == "iso8859-1":
                        value = marc8_to_unicode(value, hide_utf8_warnings,
                                                 marc8_half_marks)
                    else:
                        value = value.decode(encoding)
                sfs.append(Subfield(code, value))
            self.fields.append(fcls(tag, Indicators(ind[0], ind[1]), sfs))
        if n == 0:
            raise NoFieldsFound

    def as_marc(self) -> bytes:
        """The record as ISO 2709 bytes: UTF-8 (leader/09 set to 'a')
        unless built with ``to_unicode=False``."""
        if self.to_unicode:
            if isinstance(self.leader, Leader):
                self.leader.coding_scheme = "a"
            else:
                self.leader = self.leader[0:9] + "a" + self.leader[10:]
        leader = str(self.leader)
        encoding = ("utf-8" if leader[9] == "a" or self.force_utf8
                    else "iso8859-1")
        parts = []
        directory = []
        offset = 0
        for f in self.fields:
            data = (f.as_marc() if isinstance(f, RawField)
                    else f.as_marc(encoding=encoding))
            parts.append(data)
            tag = ("%03d" % int(f.tag) if f.tag.isdigit()
                   else "%3s" % f.tag).encode(encoding)
            directory.append(tag + b"%04d%05d" % (len(data), offset))
            offset += len(data)
        dirb = b"".join(directory) + END_OF_FIELD.encode()
        body = b"".join(parts) + END_OF_RECORD.encode()
        base = LEADER_LEN + len(dirb)
        total = base + len(body)
        head = ("%05d%s%05d%s" % (total, leader[5:12], base, leader[17:]))
        return head.encode(encoding) + dirb + body

    as_marc21 = as_marc

    def as_dict(self) -> Dict[str, Any]:
        """MARC-in-JSON as a dict."""
        out = []
        for f in self.fields:
            if f.control_field:
                out.append({f.tag: f.data})
            else:
                out.append({f.tag: {
                    "ind1": f.indicator1, "ind2": f.indicator2,
                    "subfields": [{s.code: s.value} for s in f.subfields]}})
        return {"leader": str(self.leader), "fields": out}

    def as_json(self, **kwargs: Any) -> str:
        """MARC-in-JSON text (json.dumps keyword arguments pass through)."""
        return json.dumps(self.as_dict(), **kwargs)

    def __str__(self) -> str:
        return "\n".join(["=LDR  %s" % self.leader]
                         + [str(f) for f in self.fields]) + "\n"

    def __repr__(self) -> str:
        return "<marcd.Record: %d fields>" % len(self.fields)

    # -- comparing, pickling -------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        if str(self.leader) != str(other.leader):
            return False
        a = self.fields
        b = other.fields
        return len(a) == len(b) and all(x == y for x, y in zip(a, b))

    # Records are mutable: hashed by identity, as pymarc's are.
    __hash__ = object.__hash__

    def __reduce__(self):
        return (_make_record, (str(self.leader), list(self.fields),
                               self.force_utf8, self.to_unicode, self._meta))

    # -- pymarc's conveniences -----------------------------------------
    def _title_of(self, tag):
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
    def title(self) -> Optional[str]:
        """245 $a, and ' ' + $b if there is one."""
        return self._title_of("245")

    @property
    def issn_title(self) -> Optional[str]:
        """222 $a, and ' ' + $b if there is one."""
        return self._title_of("222")

    @property
    def isbn(self) -> Optional[str]:
        """The first 020 $a's digits (and X), dashes removed."""
        f = self.get("020")
        if not f:
            return None
        n = f.get("a")
        if not n:
            return None
        m = isbn_regex.search(n)
        return m.group(1).replace("-", "") if m else None

    @property
    def issn(self) -> Optional[str]:
        """022 $a."""
        f = self.get("022")
        return f.get("a") if (f and "a" in f) else None

    @property
    def issnl(self) -> Optional[str]:
        """022 $l."""
        f = self.get("022")
        return f["l"] if (f and "l" in f) else None

    @property
    def sudoc(self) -> Optional[str]:
        """086, formatted."""
        f = self.get("086")
        return f.format_field() if f else None

    @property
    def author(self) -> Optional[str]:
        """100, 110 or 111, formatted."""
        f = self.get("100") or self.get("110") or self.get("111")
        return f.format_field() if f else None

    @property
    def uniformtitle(self) -> Optional[str]:
        """130 or 240, formatted."""
        f = self.get("130") or self.get("240")
        return f.format_field() if f else None

    @property
    def series(self) -> List[Field]:
        """440, 490, 800, 810, 811, 830 fields."""
        return self.get_fields("440", "490", "800", "810", "811", "830")

    @property
    def subjects(self) -> List[Field]:
        """6XX subject fields (pymarc's list)."""
        return self.get_fields(*_SUBJECT_TAGS)

    @property
    def addedentries(self) -> List[Field]:
        """7XX added entry fields (pymarc's list)."""
        return self.get_fields(*_ADDED_TAGS)

    @property
    def location(self) -> List[Field]:
        """852 fields."""
        return self.get_fields("852")

    @property
    def notes(self) -> List[Field]:
        """5XX note fields (pymarc's list)."""
        return self.get_fields(*_NOTE_TAGS)

    @property
    def physicaldescription(self) -> List[Field]:
        """300 fields."""
        return self.get_fields("300")

    @property
    def publisher(self) -> Optional[str]:
        """260 $b, or $b of a 264 with second indicator 1."""
        for f in self.get_fields("260", "264"):
            if f.tag == "260" or f.indicator2 == "1":
                return f.get("b")
        return None

    @property
    def pubyear(self) -> Optional[str]:
        """260 $c, or $c of a 264 with second indicator 1."""
        for f in self.get_fields("260", "264"):
            if f.tag == "260" or f.indicator2 == "1":
                return f.get("c")
        return None


def _make_record(leader, fields, force_utf8, to_unicode, meta):
    r = Record(force_utf8=force_utf8, to_unicode=to_unicode)
    r.leader = Leader(leader)
    r.fields = fields
    r._meta = meta
    return r


def map_marc8_record(record: Record) -> Record:
    """Decode a record's MARC-8 fields in place; leader/09 becomes 'a'."""
    record.fields = [map_marc8_field(f) for f in record.fields]
    leader = list(str(record.leader))
    leader[9] = "a"
    record.leader = Leader("".join(leader))
    return record
