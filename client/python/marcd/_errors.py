"""Exceptions: problems in the MARC input, and failures of the service.

A problem in the input is a :class:`MarcError`, one subclass per family of
codes (see ``enum marc_code`` in marcd/marc.h).  The same objects are what
``Record.errors`` and ``Batch.errors`` list; with ``strict=True`` the first
one is raised.
"""

from . import _lib


class MarcdError(Exception):
    """Base of everything this package raises."""


class ServiceError(MarcdError):
    """The daemon or the protocol failed.

    ``code`` is the MARCD_E_* value (negative), ``name`` its symbol and
    ``text`` the daemon's (or the library's) words.
    """

    NAMES = {0: "MARCD_OK", -1: "MARCD_E_SYSTEM", -2: "MARCD_E_CONNECT",
             -3: "MARCD_E_PROTOCOL", -4: "MARCD_E_SERVICE",
             -5: "MARCD_E_CORRUPT", -6: "MARCD_E_NOMEM", -7: "MARCD_E_CLOSED",
             -8: "MARCD_E_TIMEOUT", -9: "MARCD_E_INVALID",
             -10: "MARCD_E_NOBATCH", -11: "MARCD_E_ORDER"}

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
    """Compressed input is corrupt or truncated: the data after is lost."""


# enum marc_code -> class; numbers never change once released.
_CLASSES = {
    1: StructureError, 2: StructureError, 3: StructureError,
    4: StructureError, 5: StructureError, 6: StructureError,
    7: StructureError, 8: TruncatedError, 9: EncodingError,
    10: EncodingError, 11: EncodingError, 12: JunkError, 13: TooLargeError,
    14: ChunkFailedError, 15: InputChangedError, 20: CompressionError,
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
