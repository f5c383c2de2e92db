"""Records read straight from a parsed block, zero-copy until touched.

A :class:`ViewRecord` is two references: the chunk it lives in and its
index there.  The chunk (``_chunk.Chunk``) holds flat tables that C filled
once for the whole block (record offsets, a string of all tags, field data
ranges), so looking a field up is one ``str.find`` and fetching its bytes
one slice of the block.  Nothing is decoded until asked for.

A ViewRecord is a ``marcd.Record`` (pymarc's API): its first change (or
``copy``, ``deepcopy``, ``pickle``) *thaws* it: its class becomes
``Record`` with an ordinary list of fields, and it lets go of the chunk;
each field stays a view of its own bytes until it is changed itself.  Fields and lists handed out before keep working: a change
through them thaws the record and lands in it (see ``field.py``).

Decoding follows ``marcctl dump --format marcjson``: text is UTF-8 (the
daemon converted MARC-8 already), anything invalid becomes U+FFFD, and
structural bytes over 0x7F (tag, indicator) read as U+FFFD; a subfield code
that is not ASCII is normalised as pymarc does.  A field is a control field
when its tag starts with "00" (marcd's rule).
"""

import copy
import ctypes
import json
import struct
import threading
from array import array

from . import _lib
from ._errors import marc_error
from .field import ControlField, DataField, RawField, _thaw_list
from .leader import Leader
from .record import Record

__all__ = ["ViewRecord"]

# Layouts pinned in common/shm.h by _Static_asserts (bump them together).
_HDR = struct.Struct("<IIQIIIII")   # struct rec_hdr up to nlost
_ERR = struct.Struct("<IIQ")        # struct chunk_err
_LEADER_AT = 40                     # offsetof(struct rec_hdr, leader)
_tls = threading.local()            # as_marc's output buffer, per thread


def _clean_tag(tag):
    # tags come from the table as latin-1; bytes over 0x7F read as U+FFFD
    return tag if tag.isascii() else "".join(
        c if c < "\x80" else "\ufffd" for c in tag)


_KEYS = {}   # tag -> (tag + "\0", field class): the chunk's tag string form


def _key(tag):
    if not isinstance(tag, str):
        raise TypeError("a tag is a str, e.g. '245'")
    v = _KEYS[tag] = (tag + "\0",
                      ControlField if tag[:2] == "00" else DataField)
    return v


_new = object.__new__


def _thawing(name):
    # A pymarc method that changes the record: thaw first, then do it.
    def f(self, *args, **kwargs):
        self._thaw()
        return getattr(self, name)(*args, **kwargs)
    f.__name__ = name
    f.__doc__ = getattr(Record, name).__doc__
    return f


def _thawing_attr(name):
    def get(self):
        return _VIEW_DEFAULTS[name]

    def put(self, value):
        self._thaw()
        setattr(self, name, value)
    return property(get, put)


_VIEW_DEFAULTS = {"force_utf8": False, "to_unicode": True, "pos": 0}


class ViewRecord(Record):
    """A record in a chunk of shared memory (a ``marcd.Record``).

    ``rec.recno`` and ``rec.offset`` say where it was in the input,
    ``rec.errors`` lists the problems found in it.  It keeps its chunk in
    use while referenced; records held for long are copied out of shared
    memory by the client (transparently) so the daemon never runs out of
    blocks.
    """

    __slots__ = ()

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
        f._vt = tag
        f._d = c.blk[c.fstart[p]:c.fend[p]]
        f._r = self
        f._k = p
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
        """The first field tagged ``tag``, else ``default``."""
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
        f = _new(ControlField if tag[:2] == "00" else DataField)
        f._vt = _clean_tag(tag)
        f._d = c.blk[c.fstart[k]:c.fend[k]]
        f._r = self
        f._k = k
        return f

    def _range(self):
        c = self._c
        return range(c.first[self._i] >> 2, c.first[self._i + 1] >> 2)

    @property
    def fields(self):
        """All fields, in record order (changing the list changes the
        record)."""
        return _thaw_list(self, [self._field(k) for k in self._range()])

    @fields.setter
    def fields(self, value):
        self._thaw()
        self.fields = value

    def get_fields(self, *tags):
        """Fields tagged with any of ``tags`` (all fields if none given)."""
        if not tags:
            return self.fields
        t = self._c.tags
        return [self._field(k) for k in self._range()
                if t[4 * k:4 * k + 3] in tags]

    def __iter__(self):
        return map(self._field, self._range())

    def __len__(self):
        c = self._c
        return (c.first[self._i + 1] - c.first[self._i]) >> 2

    # -- the record as a whole -----------------------------------------
    def _hdr(self):
        return _HDR.unpack_from(self._c.blk, self._c.rec_off[self._i])

    def _leader_str(self):
        o = self._c.rec_off[self._i] + _LEADER_AT
        return self._c.blk[o:o + 24].decode("utf-8", "replace")

    @property
    def leader(self):
        """The leader as read, 09 set to 'a' (a Leader; changing it
        changes the record)."""
        ldr = Leader(self._leader_str())
        ldr._r = self
        return ldr

    @leader.setter
    def leader(self, value):
        self._thaw()
        self.leader = value

    force_utf8 = _thawing_attr("force_utf8")
    to_unicode = _thawing_attr("to_unicode")
    pos = _thawing_attr("pos")

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
        for f in self:
            if f.control_field:
                out.append({f.tag: f.data})
            else:
                out.append({f.tag: {
                    "subfields": [{s.code: s.value} for s in f.subfields],
                    "ind1": f.indicator1, "ind2": f.indicator2}})
        return {"leader": self._leader_str(), "fields": out}

    def as_json(self, **kwargs):
        """MARC-in-JSON text (json.dumps keyword arguments pass through)."""
        return json.dumps(self.as_dict(), **kwargs)

    def __str__(self):
        return "\n".join(["=LDR  %s" % self._leader_str()] +
                         [str(f) for f in self]) + "\n"

    def __repr__(self):
        return "<marcd.Record %d: %d fields>" % (self.recno, len(self))

    def __eq__(self, other):
        if (type(other) is ViewRecord and other._c is self._c
                and other._i == self._i):
            return True
        return Record.__eq__(self, other)

    __hash__ = object.__hash__

    def detach(self):
        """Copy the record's chunk out of shared memory now (see the class
        doc)."""
        self._c.detach()
        return self

    # -- thawing -------------------------------------------------------
    def _thaw(self, lst=None):
        """Become an ordinary Record owning its data (``lst``: the list
        handed out by ``fields`` whose change asked for it)."""
        if not isinstance(self, ViewRecord):
            return
        # The fields stay views (they own their bytes) until changed.
        ks = self._range()
        fields = list(lst) if lst is not None else [self._field(k)
                                                    for k in ks]
        orig = dict(zip(ks, fields))
        h = self._hdr()
        errs = self._c.errors_range(h[5], h[6], self) if h[6] else []
        meta = (h[1] + self._c.recno0, h[2], errs, h[7])
        leader = Leader(self._leader_str())
        self.__class__ = Record
        self._c = None
        self.leader = leader
        if lst is not None:
            lst[:] = fields
            fields = lst
        self.fields = fields
        self.pos = 0
        self.force_utf8 = False
        self.to_unicode = True
        self._orig = orig
        self._meta = meta

    def _field_thawed(self, f):
        # A field's content changed: keep reading the rest in place (see
        # _EditedView) unless the record was already given out as a list.
        self.__class__ = _EditedView
        self._ov = {f._k: f}

    def _leader_changed(self, leader):
        self._thaw()
        self.leader = leader

    def __reduce__(self):
        self._thaw()
        return self.__reduce__()

    def __copy__(self):
        self._thaw()
        return copy.copy(self)

    def __deepcopy__(self, memo):
        self._thaw()
        return copy.deepcopy(self, memo)


class _EditedView(ViewRecord):
    """A record read from shared memory with some fields changed in
    content (not in tag): ``_ov`` maps their chunk index to the changed
    Field.  Everything else is still read in place, and as_marc() is one
    call into C (marcd_py_block_rebuild).  Any other change thaws it."""

    __slots__ = ()

    def __getitem__(self, tag):
        f = ViewRecord.__getitem__(self, tag)
        return self._ov.get(f._k, f)

    def _field(self, k):
        f = self._ov.get(k)
        return f if f is not None else ViewRecord._field(self, k)

    def _field_thawed(self, f):
        self._ov[f._k] = f

    def __eq__(self, other):
        return Record.__eq__(self, other)

    __hash__ = object.__hash__

    def as_marc(self):
        """The record as UTF-8 ISO 2709 bytes, with its changes."""
        c = self._c
        lo = c.first[self._i] >> 2
        ks = sorted(self._ov)
        tags = []
        datas = []
        for k in ks:
            f = self._ov[k]
            t = f.tag
            if len(t) != 3 or not t.isascii() or isinstance(f, RawField):
                self._thaw()
                return self.as_marc()
            tags.append(t)
            datas.append(f.as_marc("utf-8")[:-1])
        idx = array("I", [k - lo for k in ks])
        lens = array("I", [len(d) for d in datas])
        rdata = b"".join(datas)
        nf = len(self)
        cap = (_HDR.unpack_from(c.blk, c.rec_off[self._i])[3] + len(rdata)
               + 12 * nf + 64)
        out = getattr(_tls, "buf", None)
        if out is None or len(out) < cap:
            out = _tls.buf = bytearray(max(cap, 65536))
        used = ctypes.c_size_t()
        src = c.addr if c.addr is not None else c.blk
        rc = _lib.lib.marcd_py_block_rebuild(
            src, c.size, self._i, len(ks),
            ctypes.cast(idx.buffer_info()[0], _lib.c_u32p),
            "".join(tags).encode("ascii"), rdata,
            ctypes.cast(lens.buffer_info()[0], _lib.c_u32p),
            ctypes.addressof(ctypes.c_char.from_buffer(out)), len(out),
            ctypes.byref(used))
        if rc != 0:
            # too long for ISO 2709's digits, or the like: as pymarc does
            self._thaw()
            return self.as_marc()
        return bytes(memoryview(out)[:used.value])

    as_marc21 = as_marc


for _n in ("add_field", "add_grouped_field", "add_ordered_field",
           "remove_field", "remove_fields", "decode_marc"):
    setattr(ViewRecord, _n, _thawing(_n))
del _n


def chunk_error(chunk, j, record=None):
    """Error j of a chunk's table as a MarcError (recno from the batch)."""
    code, recno, offset = _ERR.unpack_from(chunk.blk,
                                           chunk.errors_off + 16 * j)
    return marc_error(code, offset, recno + chunk.recno0, record)
