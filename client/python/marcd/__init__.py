"""marcd: MARC 21 records parsed by the marcd daemon, from Python, with
pymarc 5's API.

``import marcd as pymarc`` runs pymarc code unchanged::

    from marcd import MARCReader
    with open("file.mrc", "rb") as fh:
        for record in MARCReader(fh):
            print(record["245"]["a"])

Embedded mode, a private daemon for one read::

    import marcd
    for rec in marcd.read("file.mrc", workers=4, charset="auto"):
        print(rec["245"]["a"])

Service mode, a running daemon::

    with marcd.Client(socket="/run/marcd/marcd.sock") as c:
        batch = c.submit("file.mrc")
        titles = batch.values("245", "a")

Records read from the daemon are zero-copy views of its shared memory
until changed (or copied, or pickled), when they become ordinary records
transparently.  Problems in the input are MarcError objects
(``rec.errors``, ``batch.errors``; raised with ``strict=True``), their
codes ``ErrorCode``; failures of the daemon raise ServiceError.  Standard
library only: the C client libmarcd is loaded with ctypes (``MARCD_LIB``
overrides where from).
"""

from ._lib import LIB_PATH, find_daemon
from ._errors import (ErrorCode, ServiceCode, MarcdError, ServiceError,
                      MarcError, StructureError, TruncatedError,
                      TooLargeError, EncodingError, JunkError,
                      ChunkFailedError)
from . import constants, exceptions
from .constants import *            # noqa: F401,F403
from .exceptions import *           # noqa: F401,F403
from .leader import Leader
from .field import (Field, Subfield, Indicators, RawField, ControlField,
                    DataField, map_marc8_field, normalize_subfield_code)
from .record import Record, map_marc8_record
from .marc8 import marc8_to_unicode, MARC8ToUnicode
from ._chunk import Chunk
from ._client import Client, Batch
from ._embedded import Daemon, read
from .reader import (Reader, MARCReader, JSONReader, MARCMakerReader,
                     map_records)
from .marcxml import (XSI_NS, MARC_XML_NS, MARC_XML_SCHEMA, XmlHandler,
                      parse_xml, map_xml, parse_xml_to_array, record_to_xml,
                      record_to_xml_node)
from .marcjson import JSONHandler, parse_json_to_array
from .writer import Writer, MARCWriter, JSONWriter, XMLWriter, TextWriter
from ._formats import reads as reads_format
from ._frame import frame  # noqa: F401 (pandas only when called)


def library_version() -> str:
    """Version of the libmarcd actually loaded."""
    from ._lib import lib
    return lib.marcd_version().decode()


def _version() -> str:
    try:
        from ._paths import VERSION
        if not VERSION.startswith("@"):
            return VERSION
    except ImportError:
        pass
    return library_version()


# configure.ac's AC_INIT version: through _paths.py when built or
# installed, else the library's (the same number).
__version__ = _version()

__all__ = [
    # marcd
    "read", "Client", "Batch", "Chunk", "Daemon", "ControlField",
    "DataField", "ErrorCode", "ServiceCode", "MarcdError", "ServiceError",
    "MarcError", "StructureError", "TruncatedError", "TooLargeError",
    "EncodingError", "JunkError", "ChunkFailedError", "library_version",
    "LIB_PATH", "find_daemon", "reads_format", "frame",
    # pymarc 5
    "Record", "Field", "Subfield", "Indicators", "RawField", "Leader",
    "map_marc8_record", "map_marc8_field", "normalize_subfield_code",
    "marc8_to_unicode", "MARC8ToUnicode", "Reader", "MARCReader",
    "JSONReader", "MARCMakerReader", "map_records", "XSI_NS",
    "MARC_XML_NS", "MARC_XML_SCHEMA", "XmlHandler", "parse_xml", "map_xml",
    "parse_xml_to_array", "record_to_xml", "record_to_xml_node",
    "JSONHandler", "parse_json_to_array", "Writer", "MARCWriter",
    "JSONWriter", "XMLWriter", "TextWriter", "constants", "exceptions",
] + constants.__all__ + exceptions.__all__
