"""Writers with pymarc's names: ``MARCWriter`` (ISO 2709), ``JSONWriter``
(an array of MARC-in-JSON objects), ``XMLWriter`` (a MARCXML collection),
``TextWriter`` (MARCMaker text).  Records read from shared memory are
written without being copied first (``as_marc`` hands back the stored
bytes)."""

import json
import xml.etree.ElementTree as ET
from typing import IO

from .exceptions import WriteNeedsRecord
from .marcxml import record_to_xml_node
from .record import Record

__all__ = ["Writer", "MARCWriter", "JSONWriter", "XMLWriter", "TextWriter"]


class Writer:
    """Base of the writers: ``write(record)``, ``close(close_fh=True)``."""

    def __init__(self, file_handle: IO) -> None:
        self.file_handle = file_handle

    def write(self, record: Record) -> None:
        """Check that ``record`` is a Record (WriteNeedsRecord if not)."""
        if not isinstance(record, Record):
            raise WriteNeedsRecord

    def close(self, close_fh: bool = True) -> None:
        """Finish; close the file too unless ``close_fh`` is False."""
        if close_fh:
            self.file_handle.close()
        self.file_handle = None


class JSONWriter(Writer):
    """Records as a JSON array of MARC-in-JSON objects, to a text file
    object.  Close it, or the array is not ended."""

    def __init__(self, file_handle: IO[str]) -> None:
        super().__init__(file_handle)
        self.write_count = 0
        self.file_handle.write("[")

    def write(self, record: Record) -> None:
        """Write one record."""
        Writer.write(self, record)
        if self.write_count > 0:
            self.file_handle.write(",")
        json.dump(record.as_dict(), self.file_handle, separators=(",", ":"))
        self.write_count += 1

    def close(self, close_fh: bool = True) -> None:
        """End the array; close the file unless ``close_fh`` is False."""
        self.file_handle.write("]")
        Writer.close(self, close_fh)


class MARCWriter(Writer):
    """Records in ISO 2709 to a binary file object."""

    def write(self, record: Record) -> None:
        """Write one record."""
        Writer.write(self, record)
        self.file_handle.write(record.as_marc())


class TextWriter(Writer):
    """Records as MARCMaker text (a blank line between records), to a text
    file object."""

    def __init__(self, file_handle: IO[str]) -> None:
        super().__init__(file_handle)
        self.write_count = 0

    def write(self, record: Record) -> None:
        """Write one record."""
        Writer.write(self, record)
        if self.write_count > 0:
            self.file_handle.write("\n")
        self.file_handle.write(str(record))
        self.write_count += 1


class XMLWriter(Writer):
    """Records as a MARCXML collection, to a binary file object.  Close
    it, or the collection is not ended."""

    def __init__(self, file_handle: IO[bytes]) -> None:
        super().__init__(file_handle)
        self.file_handle.write(b'<?xml version="1.0" encoding="UTF-8"?>')
        self.file_handle.write(
            b'<collection xmlns="http://www.loc.gov/MARC21/slim">')

    def write(self, record: Record) -> None:
        """Write one record."""
        Writer.write(self, record)
        self.file_handle.write(ET.tostring(record_to_xml_node(record),
                                           encoding="utf-8"))

    def close(self, close_fh: bool = True) -> None:
        """End the collection; close the file unless ``close_fh`` is
        False."""
        self.file_handle.write(b"</collection>")
        Writer.close(self, close_fh)
