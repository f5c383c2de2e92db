"""Readers with pymarc's names: ``MARCReader``, ``JSONReader``,
``MARCMakerReader``, ``map_records``.

All of them have the daemon parse (see ``_formats``): ``MARCReader``
yields records straight from shared memory; the others give ordinary
records.  ``MARCReader`` follows pymarc 5 for bad input: it yields None
and sets ``current_exception`` (pymarc's exception classes, mapped from
marcd's error codes) and ``current_chunk`` (the bytes concerned); unlike
pymarc it goes on after a record whose length is wrong, since the daemon
finds the next record.
"""

import io
import os
import stat
import warnings
from itertools import repeat
from typing import IO, Any, Callable, Iterator, Optional, Union

from . import exceptions
from ._errors import ErrorCode
from ._formats import as_source, close_batch, open_batch, read_all
from ._record import ViewRecord
from .leader import Leader
from .record import Record

__all__ = ["Reader", "MARCReader", "JSONReader", "MARCMakerReader",
           "map_records"]

# marcd codes for which pymarc has no record: the bytes are decoded again
# by Record(data=...) to find out which exception pymarc raises.
_STRUCTURE = frozenset((ErrorCode.RECORD_LENGTH, ErrorCode.LEADER,
                        ErrorCode.BASE_ADDRESS, ErrorCode.DIRECTORY,
                        ErrorCode.FIELD_BOUNDS, ErrorCode.FIELD_TERMINATOR,
                        ErrorCode.RECORD_TERMINATOR, ErrorCode.TRUNCATED))


class Reader:
    """Base of the iterating readers."""

    def __iter__(self):
        return self


class _Source:
    """Reading bytes of the input back by offset (for ``current_chunk``
    and the records pymarc decodes differently)."""

    def __init__(self, data=None, fd=None):
        self.data = data
        self.fd = fd

    def read_at(self, off: int, n: int) -> bytes:
        if n <= 0:
            return b""
        if self.data is not None:
            return self.data[off:off + n]
        return os.pread(self.fd, n, off)

    def record_at(self, off: int) -> bytes:
        """The bytes of the record at ``off``, as long as its leader says."""
        first5 = self.read_at(off, 5)
        if len(first5) < 5 or not first5.isdigit():
            return first5
        return self.read_at(off, int(first5))


class MARCReader(Reader):
    """Iterate the records of ISO 2709 input, as pymarc's MARCReader.

    ``marc_target``: bytes, a binary file object, or a path.  The daemon
    parses (a private one started on first use and stopped at the end, or
    the one at ``socket``), and records come straight from its shared
    memory.  ``to_unicode=False``, or a ``file_encoding`` other than
    iso8859-1 (MARC-8), give records decoded as pymarc does from the
    input's bytes; ``force_utf8`` reads every record as UTF-8;
    ``utf8_handling`` ('strict', 'replace', 'ignore') says what invalid
    UTF-8 does ('strict': the record is None with a UnicodeDecodeError).
    ``marc8_half_marks=True`` maps the MARC-8 ligature and double tilde
    halves as pymarc does (U+FE20..U+FE23; records decoded in Python, as
    for ``file_encoding``).  A bad record is None, with
    ``current_exception`` and ``current_chunk`` set, whatever
    ``permissive`` (pymarc 5 does the same).  ``plain_records=True``
    gives each record as a plain ``Record`` owning its data (``type(r)
    is Record``, as pymarc's) instead of the zero-copy view; slower.
    """

    def __init__(self, marc_target: Union[IO[bytes], bytes, str],
                 to_unicode: bool = True, force_utf8: bool = False,
                 hide_utf8_warnings: bool = False,
                 utf8_handling: str = "strict",
                 file_encoding: str = "iso8859-1",
                 permissive: bool = False, socket: Optional[str] = None,
                 workers: Optional[int] = None,
                 marc8_half_marks: bool = False,
                 plain_records: bool = False) -> None:
        self.to_unicode = to_unicode
        self.force_utf8 = force_utf8
        self.hide_utf8_warnings = hide_utf8_warnings
        self.utf8_handling = utf8_handling
        self.file_encoding = file_encoding
        self.permissive = permissive
        self.socket = socket
        self.workers = workers
        self.marc8_half_marks = marc8_half_marks
        self.plain_records = plain_records
        self._current_exception = None
        self._last = None
        self._it = None
        self._done = False
        self._own_fh = False
        if isinstance(marc_target, (bytes, bytearray, memoryview)):
            data = bytes(marc_target)
            self.file_handle = io.BytesIO(data)
            self._src = _Source(data=data)
            self._submit = data
        else:
            self._own_fh = isinstance(marc_target, (str, os.PathLike))
            if self._own_fh:
                marc_target = open(marc_target, "rb")
            self.file_handle = marc_target
            self._src = None
            self._submit = None

    @property
    def current_chunk(self) -> Optional[bytes]:
        """The bytes of the last record or bad piece read."""
        last = self._last
        if isinstance(last, Record):
            off = last.offset
            return self._src.record_at(off) if off is not None else None
        return last

    @property
    def current_exception(self) -> Optional[BaseException]:
        """Why the last item was None (None after a good record)."""
        return self._current_exception

    def _open_source(self):
        fh = self.file_handle
        fd = None
        try:
            fd = fh.fileno()
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                fd = None
        except (AttributeError, OSError, io.UnsupportedOperation):
            fd = None
        if fd is not None:
            self._src = _Source(fd=fd)
            self._submit = fh
        else:
            data = fh.read()
            if isinstance(data, str):
                raise TypeError("open MARC files in binary mode")
            self._src = _Source(data=bytes(data))
            self._submit = self._src.data

    def _decode(self, raw: bytes) -> Record:
        """pymarc's decoding of one record's bytes."""
        return Record(raw, to_unicode=self.to_unicode,
                      force_utf8=self.force_utf8,
                      hide_utf8_warnings=self.hide_utf8_warnings,
                      utf8_handling=self.utf8_handling,
                      file_encoding=self.file_encoding,
                      marc8_half_marks=self.marc8_half_marks)

    def _bad(self, start: int, end: Optional[int] = None):
        """(record or None, exception, bytes) of a piece the daemon could
        not read, classified by pymarc's rules."""
        src = self._src
        first5 = src.read_at(start, 5)
        if len(first5) < 5:
            return None, exceptions.TruncatedRecord(), first5
        try:
            length = int(first5)
        except ValueError:
            return None, exceptions.RecordLengthInvalid(), first5
        chunk = src.read_at(start, length) if length > 5 else first5
        if len(chunk) < length:
            return None, exceptions.TruncatedRecord(), chunk
        if chunk[-1:] != b"\x1d":
            return None, exceptions.EndOfRecordNotFound(), chunk
        try:
            return self._decode(chunk), None, chunk
        except Exception as ex:
            return None, ex, chunk

    def _records(self) -> Iterator[Optional[Record]]:
        if self._submit is None:
            self._open_source()
        charset = "utf8" if self.force_utf8 else "auto"
        daemon, client, batch = open_batch(self._submit, "iso2709",
                                           charset=charset,
                                           socket=self.socket,
                                           workers=self.workers)
        fast = (self.to_unicode and self.file_encoding == "iso8859-1"
                and not self.marc8_half_marks)
        strict = self.utf8_handling == "strict"
        plain = self.plain_records
        try:
            pos = 0
            for c in batch.chunks():
                c.tables()
                if not c.nerrors and fast:
                    self._current_exception = None
                    for r in map(ViewRecord, repeat(c, c.n), range(c.n)):
                        if plain:
                            r._thaw()
                        self._last = r
                        yield r
                    if c.n:
                        off = ViewRecord(c, c.n - 1).offset
                        pos = off + len(self._src.record_at(off))
                    continue
                items = [(r.offset, 1, r) for r in c]
                items += [(e.offset, 0, e) for e in c.errors]
                items.sort(key=lambda t: (t[0], t[1]))
                for off, is_rec, item in items:
                    if is_rec:
                        raw = None
                        rec = item
                        codes = {e.code for e in item.errors}
                        if (not fast or codes & _STRUCTURE
                                or (strict and ErrorCode.UTF8 in codes)
                                or (not strict and codes)):
                            raw = self._src.record_at(off)
                            try:
                                rec = self._decode(raw)
                            except Exception as ex:
                                self._current_exception = ex
                                self._last = raw
                                pos = off + len(raw)
                                yield None
                                continue
                        if raw is None and ErrorCode.SUBFIELD_CODE in codes:
                            # the daemon normalised the code as pymarc
                            # does; pymarc warns when it does so
                            warnings.warn(exceptions.BadSubfieldCodeWarning(),
                                          stacklevel=2)
                        if plain and raw is None:
                            rec._thaw()
                        self._current_exception = None
                        self._last = rec if raw is None else raw
                        pos = off + len(raw if raw is not None
                                        else self._src.record_at(off))
                        yield rec
                        continue
                    err = item
                    start = pos if err.code == ErrorCode.TRUNCATED else off
                    if err.code in (ErrorCode.WORKER, ErrorCode.TOO_LARGE):
                        rec, ex, chunk = None, err, self._src.record_at(off)
                    else:
                        rec, ex, chunk = self._bad(start)
                    self._current_exception = ex
                    self._last = chunk
                    pos = start + len(chunk)
                    yield rec
        finally:
            self._done = True
            try:
                close_batch(daemon, client)
            finally:
                if self._own_fh:
                    self.file_handle.close()

    def __iter__(self):
        if self._it is None:
            self._it = self._records()
        return self._it

    def __next__(self) -> Optional[Record]:
        return next(iter(self))

    def close(self) -> None:
        """Stop reading (stops a private daemon) and close the file."""
        if self._it is not None:
            self._it.close()
        fh = self.file_handle
        if fh is not None:
            fh.close()

    def __del__(self):
        try:
            if self._it is not None:
                self._it.close()
        except Exception:       # interpreter shutting down
            pass


def map_records(f: Callable[[Record], Any], *files: Any) -> None:
    """Call ``f`` on every record of every file (as pymarc)."""
    for fh in files:
        for rec in MARCReader(fh):
            f(rec)


class _ListReader(Reader):
    """Iterate records read whole by the daemon."""

    records: list

    def __iter__(self):
        self.iter = iter(self.records)
        return self

    def __next__(self) -> Record:
        if not hasattr(self, "iter"):
            self.iter = iter(self.records)
        return next(self.iter)


class JSONReader(_ListReader):
    """MARC-in-JSON records (one object or an array), read by the daemon.

    ``marc_target``: a path, JSON text or bytes, or a file object.
    ``records`` is the list of records (pymarc has the decoded JSON
    there).  ``stream`` is accepted and ignored.
    """

    def __init__(self, marc_target: Union[bytes, str, IO],
                 encoding: str = "utf-8", stream: bool = False) -> None:
        self.encoding = encoding
        self.records = read_all(as_source(marc_target, encoding),
                                "marcjson")


class MARCMakerReader(_ListReader):
    """MARCMaker (.mrk) text records, read by the daemon.

    ``target``: a path, the text (str or bytes), or a file object.  As in
    pymarc, iterating raises ``PymarcException('Unable to parse line
    "..."')`` where the daemon found a line it could not read (bad-mrk, or
    unknown-format for text that is no .mrk at all), after the records
    before it.
    """

    def __init__(self, target: Union[bytes, str, IO],
                 encoding: str = "utf-8") -> None:
        src = as_source(target, encoding or "utf-8")
        errs: list = []
        self.records = read_all(src, "mrk", errors=errs)
        bad = [e.offset for e in errs if e.code in (
            ErrorCode.BAD_MRK, ErrorCode.UNKNOWN_FORMAT)]
        self._bad = None
        if bad:
            if not isinstance(src, bytes):
                with open(src, "rb") as fh:
                    src = fh.read()
            at = min(bad)
            end = src.find(b"\n", at)
            line = src[at:end if end >= 0 else len(src)].rstrip(b"\r")
            self._bad = (at, line.decode(encoding or "utf-8", "replace"))

    def __iter__(self):
        self.iter = self._items()
        return self

    def __next__(self) -> Record:
        if not hasattr(self, "iter"):
            self.iter = self._items()
        return next(self.iter)

    def _parse_line(self, line: str):
        """One .mrk line as pymarc's MARCMakerReader takes it: a Leader
        for =LDR, else a Field, read by the daemon's .mrk reader (only
        pymarc's two messages for a line without "=" or without the two
        spaces after the tag are checked here)."""
        if not line.startswith("="):
            raise ValueError('Line should start with a "=".')
        if line[4:6] != "  ":
            raise ValueError("Tag should be separated from the rest of the "
                             "field by two spaces.")
        if line[1:4] == "LDR":
            return Leader(line[6:])
        recs = read_all(("=LDR  %s\n%s\n" % (" " * 24, line)).encode(),
                        "mrk")
        if len(recs) != 1 or len(recs[0].fields) != 1:
            raise exceptions.PymarcException(
                'Unable to parse line "%s"' % line)
        return recs[0].fields[0]

    def _items(self):
        # As pymarc: the records before the one holding the bad line, then
        # the exception (that record is not given).
        bad = self._bad
        recs = self.records
        for i, rec in enumerate(recs):
            if bad is not None and rec.offset is not None:
                nxt = recs[i + 1].offset if i + 1 < len(recs) else None
                if rec.offset > bad[0] or nxt is None or nxt > bad[0]:
                    break
            yield rec
        if bad is not None:
            raise exceptions.PymarcException(
                'Unable to parse line "%s"' % bad[1])

