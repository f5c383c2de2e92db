"""Exceptions: problems in the MARC input, and failures of the service.

A problem in the input is a :class:`MarcError`, one subclass per family of
codes (see ``enum marc_code`` in marcd/marc.h).  The same objects are what
``Record.errors`` and ``Batch.errors`` list; with ``strict=True`` the first
one is raised.
"""

from enum import IntEnum

from . import _lib


class ErrorCode(IntEnum):
    """enum marc_code (marcd/marc.h): problems in the MARC input.  Numbers
    never change once released."""
    OK = 0
    RECORD_LENGTH = 1       # leader/00-04 not digits or wrong
    LEADER = 2              # leader malformed
    BASE_ADDRESS = 3        # leader/12-16 not digits or out of range
    DIRECTORY = 4           # non-numeric or misaligned directory
    FIELD_BOUNDS = 5        # field starts or ends past the record
    FIELD_TERMINATOR = 6    # field not ended by 0x1E where stated
    RECORD_TERMINATOR = 7   # record not ended by 0x1D
    TRUNCATED = 8           # input ends inside a record
    UTF8 = 9                # invalid UTF-8
    MARC8_ESCAPE = 10       # bad or unknown MARC-8 escape sequence
    MARC8_CHAR = 11         # byte(s) with no mapping in the set
    JUNK = 12               # bytes between records, skipped
    TOO_LARGE = 13          # record too large for a daemon block
    WORKER = 14             # the chunk killed the daemon's workers
    INPUT_CHANGED = 15      # the batch input shrank while read
    BAD_XML = 16            # MARCXML not well-formed or not MARC
    BAD_JSON = 17           # JSON not well-formed or not MARC-in-JSON
    BAD_MRK = 18            # .mrk line not in the mnemonic format
    UNKNOWN_FORMAT = 19     # input in none of the known formats
    BAD_COMPRESSION = 20    # compressed or UTF-16 input that does not decode
    SUBFIELD_CODE = 21      # subfield code not one ASCII byte (normalised)


class ServiceCode(IntEnum):
    """MARCD_E_* (marcd/marcd.h): failures of the daemon or the protocol."""
    MARCD_OK = 0
    MARCD_E_SYSTEM = -1
    MARCD_E_CONNECT = -2
    MARCD_E_PROTOCOL = -3
    MARCD_E_SERVICE = -4
    MARCD_E_CORRUPT = -5
    MARCD_E_NOMEM = -6
    MARCD_E_CLOSED = -7
    MARCD_E_TIMEOUT = -8
    MARCD_E_INVALID = -9
    MARCD_E_NOBATCH = -10
    MARCD_E_ORDER = -11


class MarcdError(Exception):
    """Base of everything this package raises."""


class ServiceError(MarcdError):
    """The daemon or the protocol failed.

    ``code`` is the MARCD_E_* value (negative), ``name`` its symbol and
    ``text`` the daemon's (or the library's) words.
    """

    NAMES = {c.value: c.name for c in ServiceCode}

    def __init__(self, code, text=None):
        self.code = code
        self.name = self.NAMES.get(code, "MARCD_E_%d" % -code)
        self.text = text or _lib.strerror(code)
        super().__init__("%s: %s" % (self.name, self.text))


class MarcError(MarcdError):
    """A problem in the MARC input.

    ``code`` (enum marc_code), ``name`` (e.g. ``"bad-leader"``), ``message``
    (one line of English), ``offset`` (byte offset in the whole input) and
    ``recno`` (1-based record number in the batch).  ``record`` is the
    record it belongs to when raised by ``strict=True`` (None for bytes
    that held no record).
    """

    def __init__(self, code, offset=0, recno=0, record=None):
        self.code = code
        self.offset = offset
        self.recno = recno
        self.record = record
        self.name = _lib.code_name(code)
        self.message = _lib.code_message(code)
        super().__init__("offset %d: record %d: %s: %s"
                         % (offset, recno, self.name, self.message))

    def __repr__(self):
        return "%s(%r, offset=%d, recno=%d)" % (
            type(self).__name__, self.name, self.offset, self.recno)

    def __eq__(self, other):
        return (isinstance(other, MarcError) and other.code == self.code
                and other.offset == self.offset and other.recno == self.recno)

    def __hash__(self):
        return hash((self.code, self.offset, self.recno))

    def __reduce__(self):
        # pickled without its record (which pickles its errors itself)
        return (marc_error, (self.code, self.offset, self.recno))


class StructureError(MarcError):
    """Leader, directory, lengths or terminators are wrong."""


class TruncatedError(StructureError):
    """The input ends inside a record."""


class TooLargeError(StructureError):
    """A record too large for the daemon's blocks (skipped)."""


class EncodingError(MarcError):
    """Invalid UTF-8 or MARC-8 (replaced by U+FFFD)."""


class JunkError(MarcError):
    """Bytes between records that are not a record (skipped)."""


class ChunkFailedError(MarcError):
    """Part of the input killed the daemon's workers: its records are lost."""


class InputChangedError(MarcError):
    """The input shrank while the daemon read it: the batch stopped."""


class CompressionError(MarcError):
    """Compressed or UTF-16 input is corrupt or truncated: the data after
    is lost."""


# enum marc_code -> class; numbers never change once released.
_E = ErrorCode
_CLASSES = {
    _E.RECORD_LENGTH: StructureError, _E.LEADER: StructureError,
    _E.BASE_ADDRESS: StructureError, _E.DIRECTORY: StructureError,
    _E.FIELD_BOUNDS: StructureError, _E.FIELD_TERMINATOR: StructureError,
    _E.RECORD_TERMINATOR: StructureError, _E.TRUNCATED: TruncatedError,
    _E.UTF8: EncodingError, _E.MARC8_ESCAPE: EncodingError,
    _E.MARC8_CHAR: EncodingError, _E.JUNK: JunkError,
    _E.TOO_LARGE: TooLargeError, _E.WORKER: ChunkFailedError,
    _E.INPUT_CHANGED: InputChangedError, _E.BAD_XML: StructureError,
    _E.BAD_JSON: StructureError, _E.BAD_MRK: StructureError,
    _E.UNKNOWN_FORMAT: StructureError, _E.BAD_COMPRESSION: CompressionError,
    _E.SUBFIELD_CODE: EncodingError,
}


def marc_error(code, offset, recno, record=None):
    """The MarcError subclass instance for a code."""
    return _CLASSES.get(code, MarcError)(code, offset, recno, record)


def service_error(handle, code):
    """A ServiceError carrying the daemon's text for the last failure."""
    text = None
    if handle:
        raw = _lib.lib.marcd_last_error(handle)
        if raw:
            text = raw.decode("utf-8", "replace")
    return ServiceError(code, text or _lib.strerror(code))
