"""Fields as pymarc 5 has them: ``Field``, ``Subfield``, ``Indicators``,
``RawField``; and the fields of records read from shared memory.

A field of a record read from shared memory (``ControlField`` or
``DataField``, both ``Field`` subclasses) is a view of its bytes: nothing
is decoded until asked for.  The first change to it (``field['a'] = ...``,
``add_subfield``, setting ``tag``, ``indicators``, ``subfields`` ...) turns
it, in place, into an ordinary ``Field`` that owns its data, and turns its
record into an ordinary ``Record`` holding that very object, so the change
is seen through the record as in pymarc.
"""

import re
import unicodedata
import warnings
from collections import defaultdict
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from .constants import END_OF_FIELD, SUBFIELD_INDICATOR

__all__ = ["Subfield", "Indicators", "Field", "RawField", "ControlField",
           "DataField", "map_marc8_field", "normalize_subfield_code"]


class Subfield(NamedTuple):
    """A subfield: ``code`` and ``value``."""
    code: str
    value: str


class Indicators(NamedTuple):
    """A data field's two indicators: ``first`` and ``second``."""
    first: str
    second: str


def normalize_subfield_code(subfield: bytes):
    """(code, bytes taken) of a subfield whose code byte is not ASCII.

    As pymarc: the code is the first character of the subfield read as
    UTF-8 (else Latin-1), stripped of diacritics by NFKD; the value starts
    after that character.
    """
    skip = 1
    try:
        text = subfield.decode("utf-8")
        skip = len(text[0].encode("utf-8"))
    except UnicodeDecodeError:
        text = subfield.decode("latin-1")
    if text[:1] == "\ufffd":
        # bytes the daemon found invalid: nothing left to normalise
        return "\ufffd", skip
    plain = unicodedata.normalize("NFKD", text).encode(
        "ascii", "ignore").decode("ascii")
    return (plain[:1] or "\ufffd"), skip


class _ThawList(list):
    """A list handed out by a record or field read from shared memory.

    Reading it is reading a list; the first change to it first turns its
    owner into an ordinary object whose list it then is, so
    ``rec.fields.append(f)`` and ``field.subfields.append(s)`` work.
    """

    __slots__ = ("_owner",)

    def _own(self):
        o = self._owner
        if o is not None:
            self._owner = None
            o._thaw(self)

    def __reduce_ex__(self, protocol):
        return (list, (list(self),))

    def __copy__(self):
        return list(self)


def _mutator(name):
    op = getattr(list, name)

    def f(self, *args):
        self._own()
        return op(self, *args)
    f.__name__ = name
    f.__doc__ = op.__doc__
    return f


for _n in ("append", "extend", "insert", "remove", "pop", "clear", "sort",
           "reverse", "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(_ThawList, _n, _mutator(_n))
del _n


def _thaw_list(owner, items):
    out = _ThawList(items)
    out._owner = owner
    return out


class Field:
    """A MARC field, as pymarc 5's.

    ``Field(tag, indicators=Indicators('0', '1'), subfields=[Subfield('a',
    'x'), ...])`` for a data field, ``Field(tag, data='...')`` for a
    control field (a numeric tag under 010).  ``field['a']`` is the first
    $a (KeyError if none), ``field['a'] = v`` sets the only $a,
    ``get``, ``get_subfields``, ``add_subfield``, ``delete_subfield``,
    ``subfields_as_dict``, ``value``, ``format_field``, ``as_marc``,
    ``linkage_occurrence_num``, ``indicator1``/``indicator2`` (settable).
    Fields compare equal by content.
    """

    __slots__ = ("tag", "data", "_indicators", "subfields", "control_field",
                 "_d", "_vt", "_r", "_k")

    def __init__(self, tag: str, indicators: Optional[Sequence[str]] = None,
                 subfields: Optional[List[Subfield]] = None,
                 data: Optional[str] = None) -> None:
        try:
            self.tag = "%03d" % int(tag)
        except ValueError:
            self.tag = "%s" % (tag,)
        if subfields and isinstance(subfields[0], str):
            raise ValueError("subfields are a list of Subfield(code, value), "
                             "not of strings: see "
                             "Field.convert_legacy_subfields")
        self.subfields = []
        self._indicators = None
        self.data = None
        self.control_field = False
        self._r = None
        if self.tag < "010" and self.tag.isdigit():
            self.control_field = True
            self.data = data
        else:
            self.subfields = list(subfields) if subfields else []
            if not indicators:
                self.indicators = Indicators(" ", " ")
            else:
                self.indicators = indicators

    # -- indicators ----------------------------------------------------
    @property
    def indicators(self) -> Optional[Indicators]:
        """The indicators (None for a control field)."""
        return self._indicators

    @indicators.setter
    def indicators(self, value: Optional[Sequence[str]]) -> None:
        if value and isinstance(value, (list, tuple)) and len(value) != 2:
            raise ValueError("indicators are two: use Indicators(first, "
                             "second)")
        if value is not None:
            self._indicators = (value if isinstance(value, Indicators)
                                else Indicators(*value))

    @property
    def indicator1(self) -> str:
        """The first indicator ('' for a control field)."""
        return self._indicators.first if self._indicators else ""

    @indicator1.setter
    def indicator1(self, value: str) -> None:
        self._indicators = (self._indicators or Indicators(" ", " "))._replace(
            first=value)

    @property
    def indicator2(self) -> str:
        """The second indicator ('' for a control field)."""
        return self._indicators.second if self._indicators else ""

    @indicator2.setter
    def indicator2(self, value: str) -> None:
        self._indicators = (self._indicators or Indicators(" ", " "))._replace(
            second=value)

    @classmethod
    def convert_legacy_subfields(cls, subfields: List[str]) -> List[Subfield]:
        """[code, value, code, value ...] (pymarc 4) as Subfield list."""
        it = iter(subfields)
        return [Subfield(c, v) for c, v in zip(it, it)]

    # -- reading -------------------------------------------------------
    def is_control_field(self) -> bool:
        """Whether the field is a control field (no indicators)."""
        return self.control_field

    def __iter__(self):
        return iter(self.subfields)

    def __getitem__(self, code: str) -> str:
        if not self.control_field:
            for sf in self.subfields:
                if sf.code == code:
                    return sf.value
        raise KeyError(code)

    def get(self, code: str, default: Any = None) -> Any:
        """The first subfield coded ``code``, else ``default``."""
        try:
            return self[code]
        except KeyError:
            return default

    def __contains__(self, code: str) -> bool:
        if self.control_field:
            return False
        for sf in self.subfields:
            if sf.code == code:
                return True
        return False

    def get_subfields(self, *codes: str) -> List[str]:
        """Values of the subfields with any of ``codes``, in order."""
        if self.control_field:
            return []
        return [sf.value for sf in self.subfields if sf.code in codes]

    def subfields_as_dict(self) -> Dict[str, List[str]]:
        """{code: [values]} ({} for a control field)."""
        if self.control_field:
            return {}
        out = defaultdict(list)
        for sf in self.subfields:
            out[sf.code].append(sf.value)
        return dict(out)

    def value(self) -> str:
        """Data of a control field, else the stripped subfield values
        joined by spaces."""
        if self.control_field:
            return self.data or ""
        return " ".join(sf.value.strip() for sf in self.subfields)

    def format_field(self) -> str:
        """Like value(), without $6, and ' -- ' before the subdivisions
        ($v $x $y $z) of subject fields."""
        if self.control_field:
            return self.data or ""
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

    def is_subject_field(self) -> bool:
        """Whether the tag starts with 6."""
        return self.tag.startswith("6")

    def linkage_occurrence_num(self) -> Optional[str]:
        """The occurrence number of $6 ('245-01/...' gives '01'), or None."""
        ocn = self.get("6", "")
        return ocn.split("-")[1].split("/")[0] if ocn else None

    def __str__(self) -> str:
        if self.control_field:
            return "=%s  %s" % (self.tag, (self.data or "").replace(" ", "\\"))
        # str(): pymarc keeps Field(..., [0, " "]) indicators as given
        ind = "".join("\\" if i in (" ", "\\") else str(i)
                      for i in (self.indicators or ()))
        return "=%s  %s%s" % (self.tag, ind, "".join(
            "$%s%s" % (sf.code, sf.value) for sf in self.subfields))

    def __repr__(self) -> str:
        return "<%s %s>" % (type(self).__name__, str(self))

    def as_marc(self, encoding: str = "utf-8") -> bytes:
        """The field's bytes in ISO 2709, ended by 0x1E."""
        if self.control_field:
            return ("%s%s" % (self.data or "", END_OF_FIELD)).encode(encoding)
        return ("%s%s%s%s" % (self.indicator1, self.indicator2, "".join(
            "%s%s%s" % (SUBFIELD_INDICATOR, sf.code, sf.value)
            for sf in self.subfields), END_OF_FIELD)).encode(encoding)

    as_marc21 = as_marc

    def _key(self):
        if self.control_field:
            return (self.tag, True, self.data)
        return (self.tag, False, tuple(self.indicators or ()),
                [tuple(s) for s in self.subfields])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Field):
            return NotImplemented
        a = getattr(self, "_d", None) if type(self) is not Field else None
        b = getattr(other, "_d", None) if type(other) is not Field else None
        if a is not None and b is not None and type(self) is type(other):
            return a == b and self.tag == other.tag
        return self._key() == other._key()

    # Fields are mutable: hashed by identity, as pymarc's are.
    __hash__ = object.__hash__

    # -- changing ------------------------------------------------------
    def __setitem__(self, code: str, value: str) -> None:
        if self.control_field:
            raise KeyError("field is a control field")
        n = [sf.code for sf in self.subfields].count(code)
        if n > 1:
            raise KeyError("more than one code '%s'" % code)
        if n == 0:
            raise KeyError("no code '%s'" % code)
        for i, sf in enumerate(self.subfields):
            if sf.code == code:
                self.subfields[i] = Subfield(code, value)
                break

    def add_subfield(self, code: str, value: str,
                     pos: Optional[int] = None) -> None:
        """Add a subfield at the end, or at index ``pos``."""
        if self.control_field:
            return
        sf = Subfield(code, value)
        if pos is None or pos > len(self.subfields):
            self.subfields.append(sf)
        else:
            self.subfields.insert(pos, sf)

    def delete_subfield(self, code: str) -> Optional[str]:
        """Remove the first subfield coded ``code``; its value, or None."""
        if self.control_field:
            return None
        for i, sf in enumerate(self.subfields):
            if sf.code == code:
                del self.subfields[i]
                return sf.value
        return None

    # -- pickling and copying ------------------------------------------
    def __reduce__(self):
        if self.control_field:
            return (_make_field, (type(self) is RawField, self.tag, None,
                                  None, self.data))
        return (_make_field, (type(self) is RawField, self.tag,
                              tuple(self.indicators or (" ", " ")),
                              [tuple(s) for s in self.subfields], None))


def _make_field(raw, tag, indicators, subfields, data):
    cls = RawField if raw else Field
    if indicators is None:
        return cls(tag, data=data)
    return cls(tag, Indicators(*indicators),
               [Subfield(*s) for s in subfields])


class RawField(Field):
    """A field whose data and subfield values are undecoded bytes (what
    ``MARCReader(to_unicode=False)`` gives)."""

    __slots__ = ()

    def as_marc(self, encoding: Optional[str] = None) -> bytes:
        """The field's bytes as read, ended by 0x1E."""
        if self.control_field:
            return self.data + b"\x1e"
        out = self.indicator1.encode("ascii") + self.indicator2.encode("ascii")
        for sf in self.subfields:
            out += b"\x1f" + sf.code.encode("ascii") + sf.value
        return out + b"\x1e"

    as_marc21 = as_marc


def map_marc8_field(f: Field) -> Field:
    """Decode a field's MARC-8 data or subfield values (in place)."""
    from .marc8 import marc8_to_unicode
    if f.control_field:
        f.data = marc8_to_unicode(f.data)
    else:
        f.subfields = [Subfield(s.code, marc8_to_unicode(s.value))
                       for s in f.subfields]
    return f


# -- fields of records read from shared memory ------------------------
#
# _d holds the field's bytes (indicators and subfields, or a control
# field's data, UTF-8, without the 0x1E), _vt its tag, _r its record (or
# None) and _k its index in the record's chunk.  Everything is decoded on
# demand, as ``marcctl dump --format marcjson`` does: invalid UTF-8 becomes
# U+FFFD; bytes between the indicators and the first 0x1F are ignored;
# empty subfields are skipped.

_BADCODE = re.compile(rb"\x1f[\x80-\xff]")
# b"\x1f" + code for every ASCII code, so a lookup is one dict get.
_SFKEY = {chr(c): b"\x1f" + bytes([c]) for c in range(0x80) if c != 0x1f}


def _struct_char(b):
    return chr(b) if b < 0x80 else "\ufffd"


def _decode_subfields(d):
    p = d.find(b"\x1f", 2)
    if p < 0:
        return []
    out = []
    for part in d[p + 1:].split(b"\x1f"):
        if part:
            c = part[0]
            if c < 0x80:
                out.append(Subfield(chr(c),
                                    part[1:].decode("utf-8", "replace")))
            else:
                code, skip = normalize_subfield_code(part)
                out.append(Subfield(code,
                                    part[skip:].decode("utf-8", "replace")))
    return out


def _thaw_field(f):
    """Turn a view field into an owned Field in place (no notification)."""
    tag = f._vt
    if f.control_field:
        data = f._d.decode("utf-8", "replace")
        f.__class__ = Field
        f.tag = tag
        f.control_field = True
        f.data = data
        f._indicators = None
        f.subfields = []
    else:
        ind = f.indicators
        sfs = _decode_subfields(f._d)
        f.__class__ = Field
        f.tag = tag
        f.control_field = False
        f.data = None
        f._indicators = ind
        f.subfields = sfs
    f._d = None


class _ViewField(Field):
    """What both kinds of view field share: thawing, tag, as_marc."""

    __slots__ = ()

    def _thaw(self, subfields=None):
        """Become an ordinary Field, and tell the record (see module doc)."""
        if type(self) is Field:
            return
        _thaw_field(self)
        if subfields is not None:
            subfields[:] = self.subfields
            self.subfields = subfields
        r = self._r
        if r is not None:
            r._field_thawed(self)

    def _get_tag(self):
        return self._vt

    def _set(name):
        def put(self, value):
            self._thaw()
            setattr(self, name, value)
        return put

    def _set_tag(self, value):
        # a new tag changes the record's directory: thaw the record whole
        self._thaw()
        r = self._r
        if r is not None:
            r._thaw()
        self.tag = value

    tag = property(_get_tag, _set_tag, doc="The field's tag.")

    def as_marc(self, encoding: str = "utf-8") -> bytes:
        """The field's bytes as in the UTF-8 ISO 2709 record, with 0x1E."""
        return self._d + b"\x1e"

    as_marc21 = as_marc

    def __setitem__(self, code, value):
        self._thaw()
        Field.__setitem__(self, code, value)

    def add_subfield(self, code, value, pos=None):
        """Add a subfield at the end, or at index ``pos``."""
        self._thaw()
        Field.add_subfield(self, code, value, pos)

    def delete_subfield(self, code):
        """Remove the first subfield coded ``code``; its value, or None."""
        self._thaw()
        return Field.delete_subfield(self, code)


class ControlField(_ViewField):
    """A control field (tag 00X) of a record read from shared memory."""

    __slots__ = ()
    control_field = True
    indicators = property(lambda self: None, _ViewField._set("indicators"))
    indicator1 = property(lambda self: "", _ViewField._set("indicator1"))
    indicator2 = property(lambda self: "", _ViewField._set("indicator2"))

    @property
    def data(self) -> str:
        """The field's data."""
        return self._d.decode("utf-8", "replace")

    @data.setter
    def data(self, value):
        self._thaw()
        self.data = value

    @property
    def subfields(self) -> List[Subfield]:
        """Always empty."""
        return _thaw_list(self, ())

    @subfields.setter
    def subfields(self, value):
        self._thaw()
        self.subfields = value

    def __getitem__(self, code):
        raise KeyError(code)

    def get(self, code, default=None):
        """Always ``default``: a control field has no subfields."""
        return default

    def __contains__(self, code):
        return False

    def __iter__(self):
        return iter(())

    def get_subfields(self, *codes):
        """Always empty."""
        return []

    def value(self) -> str:
        """The field's data."""
        return self.data

    format_field = value


class DataField(_ViewField):
    """A data field of a record read from shared memory."""

    __slots__ = ()
    control_field = False

    @property
    def data(self) -> None:
        """Always None for a data field."""
        return None

    @data.setter
    def data(self, value):
        self._thaw()
        self.data = value

    def __getitem__(self, code):
        d = self._d
        try:
            p = d.find(_SFKEY[code], 2)
        except KeyError:
            return self._slow_get(code)
        if p < 0:
            if _BADCODE.search(d):
                return self._slow_get(code)
            raise KeyError(code)
        e = d.find(b"\x1f", p + 2)
        v = d[p + 2:e] if e >= 0 else d[p + 2:]
        try:
            return v.decode()
        except UnicodeDecodeError:
            return v.decode("utf-8", "replace")

    def _slow_get(self, code):
        for sf in _decode_subfields(self._d):
            if sf.code == code:
                return sf.value
        raise KeyError(code)

    def __contains__(self, code):
        try:
            self[code]
        except KeyError:
            return False
        return True

    @property
    def subfields(self) -> List[Subfield]:
        """The subfields (a list; changing it changes the field)."""
        return _thaw_list(self, _decode_subfields(self._d))

    @subfields.setter
    def subfields(self, value):
        self._thaw()
        self.subfields = value

    def __iter__(self):
        return iter(_decode_subfields(self._d))

    @property
    def indicators(self) -> Indicators:
        """The two indicators (a blank for each one missing)."""
        d = self._d
        return Indicators(_struct_char(d[0]) if len(d) > 0 else " ",
                          _struct_char(d[1]) if len(d) > 1 else " ")

    @indicators.setter
    def indicators(self, value):
        self._thaw()
        self.indicators = value

    @property
    def indicator1(self) -> str:
        """The first indicator."""
        d = self._d
        return _struct_char(d[0]) if len(d) > 0 else " "

    @indicator1.setter
    def indicator1(self, value):
        self._thaw()
        self.indicator1 = value

    @property
    def indicator2(self) -> str:
        """The second indicator."""
        d = self._d
        return _struct_char(d[1]) if len(d) > 1 else " "

    @indicator2.setter
    def indicator2(self, value):
        self._thaw()
        self.indicator2 = value

    def get_subfields(self, *codes):
        """Values of the subfields with any of ``codes``, in order."""
        return [sf.value for sf in _decode_subfields(self._d)
                if sf.code in codes]

    def subfields_as_dict(self):
        """{code: [values]}."""
        out = {}
        for sf in _decode_subfields(self._d):
            out.setdefault(sf.code, []).append(sf.value)
        return out

    def value(self):
        """The stripped subfield values joined by spaces."""
        return " ".join(sf.value.strip() for sf in _decode_subfields(self._d))


del _ViewField._set
