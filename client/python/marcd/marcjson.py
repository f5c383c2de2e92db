"""MARC-in-JSON with pymarc's names: ``parse_json_to_array`` reads through
the daemon; ``JSONHandler`` builds records from already decoded JSON."""

from typing import Any, List

from .field import Field, Indicators
from .leader import Leader
from .reader import JSONReader
from .record import Record

__all__ = ["JSONHandler", "parse_json_to_array"]


class JSONHandler:
    """Builds records from MARC-in-JSON objects (dicts, as json.load gives
    them): ``elements(list_or_dict)`` returns ``records``; override
    ``process_record`` to handle each as it comes."""

    def __init__(self) -> None:
        self.records: List[Record] = []

    def element(self, element_dict: dict, name: Any = None) -> None:
        """Build one record from its dict and process it."""
        rec = Record()
        rec.leader = Leader(element_dict["leader"])
        for field in element_dict["fields"]:
            tag, value = next(iter(field.items()))
            f = Field(tag)
            if f.control_field:
                f.data = value
            else:
                for sf in value["subfields"]:
                    for code, text in sf.items():
                        f.add_subfield(code, text)
                f.indicators = Indicators(value["ind1"], value["ind2"])
            rec.add_field(f)
        self.process_record(rec)

    def elements(self, dict_list: Any) -> List[Record]:
        """Build every record of a list of dicts (or one dict)."""
        if not isinstance(dict_list, list):
            dict_list = [dict_list]
        for d in dict_list:
            self.element(d)
        return self.records

    def process_record(self, record: Record) -> None:
        """Keep the record in ``records``."""
        self.records.append(record)


def parse_json_to_array(json_file: Any) -> List[Record]:
    """The records of a MARC-in-JSON file (path, text, bytes or file
    object) as a list."""
    return list(JSONReader(json_file).records)
