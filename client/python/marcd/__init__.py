"""marcd: read MARC 21 records parsed by the marcd daemon, from Python.

Embedded mode, a private daemon for one read::

    import marcd
    for rec in marcd.read("file.mrc", workers=4, charset="auto"):
        print(rec["245"]["a"])

Service mode, a running daemon::

    with marcd.Client(socket="/run/marcd/marcd.sock") as c:
        batch = c.submit("file.mrc")
        titles = batch.values("245", "a")

Records are read-only views of shared memory shaped like pymarc 5's
(``rec['245']['a']``, ``rec.get_fields('650')``, ``rec.title``,
``rec.as_json()`` ...).  Problems in the input are MarcError objects
(``rec.errors``, ``batch.errors``; raised with ``strict=True``); failures of
the daemon raise ServiceError.  Standard library only: the C client
libmarcd is loaded with ctypes (``MARCD_LIB`` overrides where from).
"""

from ._lib import LIB_PATH, find_daemon
from ._errors import (MarcdError, ServiceError, MarcError, StructureError,
                      TruncatedError, TooLargeError, EncodingError,
                      JunkError, ChunkFailedError)
from ._record import Record, Field, ControlField, DataField, Subfield, \
    Indicators
from ._chunk import Chunk
from ._client import Client, Batch
from ._embedded import Daemon, read
from ._frame import frame  # noqa: F401 (pandas only when called)

__version__ = "0.1.0"


def library_version():
    """Version of the libmarcd actually loaded."""
    from ._lib import lib
    return lib.marcd_version().decode()


__all__ = ["read", "Client", "Batch", "Chunk", "Daemon", "Record", "Field",
           "ControlField", "DataField", "Subfield", "Indicators",
           "MarcdError", "ServiceError", "MarcError", "StructureError",
           "TruncatedError", "TooLargeError", "EncodingError", "JunkError",
           "ChunkFailedError", "library_version", "LIB_PATH", "find_daemon"]
__all__ += ["frame"]
