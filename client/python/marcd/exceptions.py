"""pymarc's exceptions, same names and hierarchy, for ``import marcd as
pymarc``.

``MARCReader`` maps marcd's error codes (``marcd.ErrorCode``) onto these
(see ``marcd.reader``); record building and editing raise them as pymarc
does.
"""

__all__ = ["PymarcException", "FatalReaderError", "RecordLengthInvalid",
           "TruncatedRecord", "EndOfRecordNotFound", "RecordLeaderInvalid",
           "RecordDirectoryInvalid", "NoFieldsFound", "BaseAddressInvalid",
           "BaseAddressNotFound", "WriteNeedsRecord", "NoActiveFile",
           "FieldNotFound", "BadSubfieldCodeWarning", "BadLeaderValue",
           "MissingLinkedFields"]


class PymarcException(Exception):
    """Base of pymarc's exceptions."""


class FatalReaderError(PymarcException):
    """An error after which pymarc's reader cannot find the next record."""


class RecordLengthInvalid(FatalReaderError):
    """Leader/00-04 are not a record length."""

    def __str__(self):
        return "Invalid record length in first 5 bytes of record"


class TruncatedRecord(FatalReaderError):
    """The input ends before the record length says."""

    def __str__(self):
        return "Record length in leader is greater than the length of data"


class EndOfRecordNotFound(FatalReaderError):
    """The record does not end with 0x1D."""

    def __str__(self):
        return "Unable to locate end of record marker"


class RecordLeaderInvalid(PymarcException):
    """A leader that is not 24 characters."""

    def __str__(self):
        return "Unable to extract record leader"


class RecordDirectoryInvalid(PymarcException):
    """The directory is not a whole number of 12-byte entries."""

    def __str__(self):
        return "Invalid directory"


class NoFieldsFound(PymarcException):
    """A record with no field."""

    def __str__(self):
        return "Unable to locate fields in record data"


class BaseAddressInvalid(PymarcException):
    """Leader/12-16 point past the record."""

    def __str__(self):
        return "Base address exceeds size of record"


class BaseAddressNotFound(PymarcException):
    """Leader/12-16 are zero."""

    def __str__(self):
        return "Unable to locate base address of record"


class WriteNeedsRecord(PymarcException):
    """A writer was given something that is not a Record."""

    def __str__(self):
        return "Write requires a pymarc.Record object as an argument"


class NoActiveFile(PymarcException):
    """A writer with no file to write to."""

    def __str__(self):
        return "There is no active file to write to in call to write"


class FieldNotFound(PymarcException):
    """remove_field() of a field the record does not hold."""

    def __str__(self):
        return "Record does not contain the specified field"


class BadSubfieldCodeWarning(Warning):
    """A subfield code that is not one ASCII character (normalised)."""


class BadLeaderValue(PymarcException):
    """A leader position set to a value of the wrong length."""


class MissingLinkedFields(PymarcException):
    """A field's $6 names an 880 the record does not hold."""

    def __init__(self, field):
        super().__init__(field)
        self.field = field

    def __str__(self):
        return ("%s field includes a subfield 6 but no linked fields could "
                "be found." % self.field.tag)
