"""MARC-8 to Unicode, pymarc's names, with libmarcd's decoder.

The conversion is the daemon's own (common/marc8.c, called through
ctypes): every Library of Congress code table, escape sequences, combining
marks moved after their base character, NFC output.  Where it differs from
pymarc (the Library of Congress mapping of the ligature and double tilde
halves) see the README's "Coming from pymarc" table; ``half_marks=True``
gives pymarc's mapping of those halves.
"""

import ctypes
import unicodedata
from typing import Union

from . import _lib

__all__ = ["marc8_to_unicode", "MARC8ToUnicode"]

BASIC_LATIN = 0x42
ANSEL = 0x45
_MULTIBYTE = 0x31       # EACC


def _decode(data: bytes, half_marks: bool = False):
    out = ctypes.c_void_p()
    n = ctypes.c_size_t()
    nerr = ctypes.c_uint32()
    rc = _lib.lib.marcd_py_marc8_to_utf8(data, len(data), int(half_marks),
                                         ctypes.byref(out), ctypes.byref(n),
                                         ctypes.byref(nerr))
    if rc != 0:
        from ._errors import ServiceError
        raise ServiceError(rc)
    try:
        text = ctypes.string_at(out.value, n.value).decode("utf-8", "replace")
    finally:
        _lib.lib.marcd_py_free(out.value)
    return text, nerr.value


class MARC8ToUnicode:
    """A MARC-8 decoder: ``MARC8ToUnicode().translate(b'...')`` is the text.

    ``G0`` and ``G1`` (final characters of the sets designated at the
    start; default Basic Latin and Extended Latin) as pymarc; ``quiet``
    has no effect (bytes that map to nothing become U+FFFD; the count is
    ``last_errors``).  ``half_marks=True``: the ligature and double tilde
    halves (EB/EC, FA/FB) become U+FE20/U+FE21, U+FE22/U+FE23 as in
    pymarc, not the whole mark U+0361 / U+0360 and nothing (the Library of
    Congress and MARC::Charset mapping, the default, as the daemon reads).
    """

    basic_latin = BASIC_LATIN
    ansel = ANSEL

    def __init__(self, G0: int = BASIC_LATIN, G1: int = ANSEL,
                 quiet: bool = False, half_marks: bool = False) -> None:
        self.g0 = G0
        self.g1 = G1
        self.quiet = quiet
        self.half_marks = half_marks
        self.last_errors = 0
        prefix = b""
        if G0 != BASIC_LATIN:
            prefix += (b"\x1b$1" if G0 == _MULTIBYTE
                       else b"\x1b(" + bytes([G0]))
        if G1 != ANSEL:
            prefix += (b"\x1b$)1" if G1 == _MULTIBYTE
                       else b"\x1b)" + bytes([G1]))
        self._prefix = prefix

    def translate(self, marc8_string: Union[bytes, bytearray, str]) -> str:
        """The text of MARC-8 bytes (a str is taken as Latin-1 bytes,
        unless it holds characters beyond them)."""
        if isinstance(marc8_string, str):
            try:
                marc8_string = marc8_string.encode("latin-1")
            except UnicodeEncodeError:
                return marc8_string     # text already: nothing to convert
        if not marc8_string:
            return ""
        text, self.last_errors = _decode(self._prefix + bytes(marc8_string),
                                         self.half_marks)
        return unicodedata.normalize("NFC", text)


def marc8_to_unicode(marc8: Union[bytes, bytearray, str],
                     hide_utf8_warnings: bool = False,
                     half_marks: bool = False) -> str:
    """The text of MARC-8 bytes, as pymarc's function of the same name
    (``half_marks``: see MARC8ToUnicode)."""
    return MARC8ToUnicode(quiet=hide_utf8_warnings,
                          half_marks=half_marks).translate(marc8)
