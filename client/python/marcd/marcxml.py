"""MARCXML with pymarc's names: reading through the daemon, writing here.

``parse_xml_to_array``, ``map_xml`` and ``parse_xml`` have the daemon
parse the XML (see ``_formats``); ``record_to_xml`` and
``record_to_xml_node`` write a record as a MARCXML ``<record>`` element.
"""

import unicodedata
import xml.etree.ElementTree as ET
from typing import Any, Callable, List, Optional

from ._formats import as_source, read_all
from .field import Subfield
from .marc8 import MARC8ToUnicode
from .record import Record

__all__ = ["XSI_NS", "MARC_XML_NS", "MARC_XML_SCHEMA", "XmlHandler",
           "parse_xml", "map_xml", "parse_xml_to_array", "record_to_xml",
           "record_to_xml_node"]

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MARC_XML_NS = "http://www.loc.gov/MARC21/slim"
MARC_XML_SCHEMA = ("http://www.loc.gov/MARC21/slim "
                   "http://www.loc.gov/standards/marcxml/schema/"
                   "MARC21slim.xsd")


class XmlHandler:
    """Receives the records of parse_xml: ``records`` collects them;
    override ``process_record`` to handle each as it comes.  ``strict`` and
    ``normalize_form`` as pymarc's (namespace checking is the daemon's)."""

    def __init__(self, strict: bool = False,
                 normalize_form: Optional[str] = None) -> None:
        self.records: List[Record] = []
        self._strict = strict
        self.normalize_form = normalize_form

    def process_record(self, record: Record) -> None:
        """Keep the record in ``records``."""
        self.records.append(record)


def _normalize(rec: Record, form: str) -> Record:
    for f in rec.fields:
        if f.control_field:
            f.data = unicodedata.normalize(form, f.data or "")
        else:
            f.subfields = [Subfield(s.code, unicodedata.normalize(form,
                                                                  s.value))
                           for s in f.subfields]
    return rec


def parse_xml(xml_file: Any, handler: XmlHandler) -> None:
    """Read a MARCXML file (path, bytes, text or file object) and pass
    each record to ``handler.process_record``."""
    form = getattr(handler, "normalize_form", None)
    for rec in read_all(as_source(xml_file), "marcxml"):
        handler.process_record(_normalize(rec, form) if form else rec)


def map_xml(function: Callable[[Record], Any], *files: Any) -> None:
    """Call ``function`` on every record of every MARCXML file."""
    handler = XmlHandler()
    handler.process_record = function
    for f in files:
        parse_xml(f, handler)


def parse_xml_to_array(xml_file: Any, strict: bool = False,
                       normalize_form: Optional[str] = None) -> List[Record]:
    """The records of a MARCXML file (path, file object, bytes or text)
    as a list; ``normalize_form`` ('NFC', 'NFD', ...) normalises their
    text."""
    handler = XmlHandler(strict, normalize_form)
    parse_xml(xml_file, handler)
    return handler.records


def record_to_xml_node(record: Record, quiet: bool = False,
                       namespace: bool = False) -> ET.Element:
    """The record as a MARCXML ``<record>`` element (with the MARC21 slim
    namespace and schema location if ``namespace``).  Byte values (raw
    records) are read as MARC-8."""
    marc8 = MARC8ToUnicode(quiet=quiet)

    def text(v):
        return v if isinstance(v, str) else marc8.translate(v)

    root = ET.Element("record")
    if namespace:
        root.set("xmlns", MARC_XML_NS)
        root.set("xmlns:xsi", XSI_NS)
        root.set("xsi:schemaLocation", MARC_XML_SCHEMA)
    ET.SubElement(root, "leader").text = str(record.leader)
    for f in record:
        if f.control_field:
            e = ET.SubElement(root, "controlfield")
            e.set("tag", f.tag)
            e.text = text(f.data)
        else:
            e = ET.SubElement(root, "datafield")
            ind = f.indicators
            e.set("ind1", ind.first)
            e.set("ind2", ind.second)
            e.set("tag", f.tag)
            for sf in f.subfields:
                s = ET.SubElement(e, "subfield")
                s.set("code", sf.code)
                s.text = text(sf.value)
    return root


def record_to_xml(record: Record, quiet: bool = False,
                  namespace: bool = False) -> bytes:
    """The record as MARCXML bytes (one ``<record>`` element)."""
    return ET.tostring(record_to_xml_node(record, quiet, namespace))
