"""The record leader as pymarc 5 has it: a mutable 24-character string with
named positions.

A leader read from shared memory is bound to its record: the first change
to it turns the record into an ordinary (owned) one, so ``rec.leader[5] =
'c'`` and ``rec.leader.record_status = 'c'`` change ``rec``.
"""

from typing import Iterator, Optional, Union

from .constants import LEADER_LEN
from .exceptions import BadLeaderValue, RecordLeaderInvalid

__all__ = ["Leader"]

# name -> (position, width, what it is): pymarc's property names.
_POSITIONS = {
    "record_length": (0, 5, "Record length"),
    "record_status": (5, 1, "Record status"),
    "type_of_record": (6, 1, "Type of record"),
    "bibliographic_level": (7, 1, "Bibliographic level"),
    "type_of_control": (8, 1, "Type of control"),
    "coding_scheme": (9, 1, "Character coding scheme"),
    "indicator_count": (10, 1, "Indicator count"),
    "subfield_code_count": (11, 1, "Subfield code count"),
    "base_address": (12, 5, "Base address of data"),
    "encoding_level": (17, 1, "Encoding level"),
    "cataloging_form": (18, 1, "Descriptive cataloging form"),
    "multipart_ressource": (19, 1, "Multipart resource record level"),
    "length_of_field_length": (20, 1,
                               "Length of the length-of-field portion"),
    "starting_character_position_length": (
        21, 1, "Length of the starting-character-position portion"),
    "implementation_defined_length": (
        22, 1, "Length of the implementation-defined portion"),
}


def _position(name, pos, width, label):
    def get(self):
        return self.leader[pos:pos + width] if width > 1 else self.leader[pos]

    def put(self, value):
        if len(value) != width:
            raise BadLeaderValue("%s is a %d-character field, got %r"
                                 % (label, width, value))
        self._replace_values(pos, value)

    return property(get, put, doc="%s (%02d%s)." % (
        label, pos, "-%02d" % (pos + width - 1) if width > 1 else ""))


class Leader:
    """A mutable leader: ``leader[6]``, ``leader[0:5]``, ``str(leader)``,
    ``leader.type_of_record`` (and every pymarc 5 name, all settable),
    ``leader[5] = 'c'``.  Compares equal to its string.
    """

    __slots__ = ("leader", "_r")

    def __init__(self, leader: str) -> None:
        if len(leader) != LEADER_LEN:
            raise RecordLeaderInvalid
        self.leader = str(leader)
        self._r = None

    def __getitem__(self, item: Union[str, int, slice]) -> str:
        if isinstance(item, (int, slice)):
            return self.leader[item]
        return getattr(self, item)

    def __setitem__(self, item: Union[str, int, slice], value: str) -> None:
        if isinstance(item, slice):
            self._replace_values(item.start or 0, value)
        elif isinstance(item, int):
            self._replace_values(item, value)
        else:
            setattr(self, item, value)

    def _replace_values(self, position: int, value: str) -> None:
        """Put value at position (the one place a leader changes)."""
        if position < 0:
            raise IndexError("Position must be positive")
        end = position + len(value)
        if end > LEADER_LEN:
            raise BadLeaderValue("%s is too long to be inserted at %d"
                                 % (value, position))
        r = self._r
        if r is not None:
            self._r = None
            r._leader_changed(self)
        self.leader = self.leader[:position] + value + self.leader[end:]

    def __str__(self) -> str:
        return self.leader

    def __repr__(self) -> str:
        return "Leader(%r)" % self.leader

    def __len__(self) -> int:
        return len(self.leader)

    def __iter__(self) -> Iterator[str]:
        return iter(self.leader)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Leader):
            return other.leader == self.leader
        if isinstance(other, str):
            return other == self.leader
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.leader)

    def __reduce__(self):
        return (Leader, (self.leader,))

    def __copy__(self) -> "Leader":
        return Leader(self.leader)

    def __deepcopy__(self, memo: Optional[dict]) -> "Leader":
        return Leader(self.leader)


for _name, _spec in _POSITIONS.items():
    setattr(Leader, _name, _position(_name, *_spec))
del _name, _spec
