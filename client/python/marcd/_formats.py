"""The one place the package hands input to libmarcd in a given format.

``MARCReader`` (ISO 2709), ``parse_xml_to_array``/``map_xml`` (MARCXML),
``JSONReader``/``parse_json_to_array`` (MARC-in-JSON) and
``MARCMakerReader`` (.mrk) all read through :func:`open_batch`: the daemon
parses, never Python.  The daemon tells the formats apart by content;
``fmt`` names what the caller expects, for when submission takes a format
argument.  :func:`reads` says whether this libmarcd's daemon turns a
format into records (the readers of MARCXML, MARC-in-JSON and .mrk are
newer than ISO 2709's).
"""

import io
import os
import threading
from typing import Optional, Tuple

from ._client import Client
from ._embedded import Daemon

__all__ = ["FORMATS", "open_batch", "reads", "as_source"]

FORMATS = ("iso2709", "marcxml", "marcjson", "mrk")


def as_source(target, encoding="utf-8"):
    """What Client.submit takes, from a path, bytes, str text or a file
    object (text file objects are encoded with ``encoding``)."""
    if isinstance(target, (bytes, bytearray, memoryview)):
        return bytes(target)
    if isinstance(target, os.PathLike):
        return target
    if isinstance(target, str):
        if os.path.exists(target):
            return target
        return target.encode(encoding)
    if hasattr(target, "read"):
        if isinstance(target, io.TextIOBase):
            return target.read().encode(encoding)
        return target
    raise TypeError("expected a path, bytes, text or a file object, not %s"
                    % type(target).__name__)


def open_batch(source, fmt: str = "iso2709", charset: str = "auto",
               socket: Optional[str] = None, workers: int = 1
               ) -> Tuple[Optional[Daemon], Client, "object"]:
    """Submit ``source`` (anything Client.submit takes) read as ``fmt`` to
    a private daemon (or the one at ``socket``): (daemon or None, client,
    batch).  The caller closes the client and stops the daemon."""
    if fmt not in FORMATS:
        raise ValueError("format is one of %s, not %r" % (FORMATS, fmt))
    daemon = None
    client = None
    try:
        if socket is None:
            daemon = Daemon(workers).start()
            client = daemon.client()
        else:
            client = _idle_client(socket)
        batch = client.submit(source, charset=charset)
        # a private daemon goes with its client; a kept client cancels
        batch._closing_client = daemon is not None
        return daemon, client, batch
    except BaseException:
        if client is not None:
            client.close()
        if daemon is not None:
            daemon.stop()
        raise


# Idle connections to running daemons, by socket: a reader done with one
# leaves it for the next (a new connection maps the arena afresh, and
# touching a fresh mapping costs a page fault a page).
_idle = {}
_idle_lock = threading.Lock()
_IDLE_MAX = 4


def _idle_client(socket):
    with _idle_lock:
        pool = _idle.get(socket)
        while pool:
            c = pool.pop()
            if not c.closed:
                return c
    return Client(socket)


def close_batch(daemon, client):
    """Undo open_batch (a connection to a running daemon is kept for the
    next reader)."""
    try:
        if client is not None:
            if daemon is None and not client.closed:
                with _idle_lock:
                    pool = _idle.setdefault(client.socket, [])
                    if len(pool) < _IDLE_MAX:
                        pool.append(client)
                        client = None
            if client is not None:
                client.close()
    finally:
        if daemon is not None:
            daemon.stop()


def read_all(source, fmt, socket=None, errors=None):
    """Every record of ``source`` read as ``fmt``, owned (a list); the
    errors of the records and of bytes that held none go to ``errors``
    (a list) when given."""
    daemon, client, batch = open_batch(source, fmt, socket=socket)
    try:
        out = []
        for rec in batch:
            rec._thaw()
            out.append(rec)
            if errors is not None:
                errors.extend(rec.errors)
        if errors is not None:
            errors.extend(batch.errors)
        return out
    finally:
        close_batch(daemon, client)


_SAMPLES = {
    "marcxml": (b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<collection xmlns="http://www.loc.gov/MARC21/slim"><record>'
                b'<leader>00000nam a2200000 a 4500</leader>'
                b'<datafield tag="245" ind1="0" ind2="0">'
                b'<subfield code="a">probe</subfield></datafield>'
                b'</record></collection>'),
    "marcjson": (b'{"leader":"00000nam a2200000 a 4500","fields":'
                 b'[{"245":{"ind1":"0","ind2":"0",'
                 b'"subfields":[{"a":"probe"}]}}]}'),
    "mrk": b"=LDR  00000nam a2200000 a 4500\n=245  00$aprobe\n",
}
_probed = {}


def reads(fmt: str) -> bool:
    """Whether the daemon reads ``fmt`` (one tiny sample, once)."""
    if fmt == "iso2709":
        return True
    if fmt not in _probed:
        try:
            recs = read_all(_SAMPLES[fmt], fmt)
            _probed[fmt] = (len(recs) == 1
                            and recs[0].get("245") is not None
                            and recs[0]["245"].get("a") == "probe")
        except Exception:
            _probed[fmt] = False
    return _probed[fmt]
