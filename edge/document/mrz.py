"""Machine readable zones of TD1 identity cards (3 x 30) and TD3 passports (2 x 44), ICAO 9303-3/4/5.

`parse_mrz(text)` checks the shape strictly (raises MRZError) but records check digits instead of raising:
a wrong check digit is a *check result*, not a parse failure. The BAC/PACE key material comes from
`MRZ.key_information()` (document number, birth date, expiry date, each with its check digit).

Personal data: `repr()` of an MRZ never shows its fields, so an MRZ that ends up in a log line leaks nothing.

    >>> mrz = parse_mrz("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\\n"
    ...                 "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
    >>> mrz.document_number, mrz.check_digits_ok
    ('L898902C3', True)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from edge.document.errors import MRZError

_ALLOWED = re.compile(r"^[A-Z0-9<]+$")
_WEIGHTS = (7, 3, 1)


def char_value(ch: str) -> int:
    if ch.isdigit():
        return ord(ch) - 48
    if "A" <= ch <= "Z":
        return ord(ch) - 55
    if ch == "<":
        return 0
    raise MRZError("character outside the MRZ alphabet")


def check_digit(text: str) -> str:
    """ICAO 9303-3 check digit: weights 7, 3, 1 modulo 10."""
    return str(sum(char_value(ch) * _WEIGHTS[i % 3] for i, ch in enumerate(text)) % 10)


def _digit_ok(text: str, digit: str) -> bool:
    # '<' as check digit is allowed only for an empty (all filler) optional field.
    if digit == "<":
        return set(text) <= {"<"}
    return check_digit(text) == digit


def _name(field_text: str) -> tuple[str, str]:
    primary, _, secondary = field_text.partition("<<")
    return primary.replace("<", " ").strip(), secondary.replace("<", " ").strip()


@dataclass(frozen=True, repr=False)
class MRZ:
    """A parsed MRZ. Field values are as printed, with fillers removed where the field is free text."""

    kind: str  # "TD1", "TD2" or "TD3"
    lines: tuple[str, ...]
    document_code: str
    issuing_state: str
    document_number: str
    document_number_check: str
    date_of_birth: str  # YYMMDD
    date_of_birth_check: str
    sex: str
    date_of_expiry: str  # YYMMDD
    date_of_expiry_check: str
    nationality: str
    optional_data: str
    optional_data_2: str
    primary_identifier: str
    secondary_identifier: str
    check_digits: dict[str, bool] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"MRZ({self.kind}, <personal data hidden>)"

    __str__ = __repr__

    @property
    def check_digits_ok(self) -> bool:
        return all(self.check_digits.values())

    @property
    def failed_check_digits(self) -> tuple[str, ...]:
        """Names (never values) of the check digits that did not verify."""
        return tuple(name for name, ok in self.check_digits.items() if not ok)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def key_information(self) -> str:
        """MRZ_information for BAC / PACE (ICAO 9303-11 §4.3.2 / §9.7.2).

        Document numbers longer than 9 characters (TD1 with the continuation in the optional field) use the
        whole number and a check digit over it, as other readers do.
        """
        number = self.document_number
        check = self.document_number_check
        if len(number) < 9:
            number = number.ljust(9, "<")
        birth = self.date_of_birth + self.date_of_birth_check
        return number + check + birth + self.date_of_expiry + self.date_of_expiry_check

    def expiry_date(self) -> dt.date | None:
        """Expiry as a date (20YY: documents valid at most ten years), or None when not a valid date."""
        return _yymmdd(self.date_of_expiry, century=2000)

    def birth_date(self, today: dt.date) -> dt.date | None:
        """Birth date; YY is in the past century when 20YY would lie in the future."""
        value = _yymmdd(self.date_of_birth, century=2000)
        if value is not None and value > today:
            value = _yymmdd(self.date_of_birth, century=1900)
        return value


def _yymmdd(text: str, century: int) -> dt.date | None:
    if not text.isdigit() or len(text) != 6:
        return None
    try:
        return dt.date(century + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        return None


def normalise(text: str) -> list[str]:
    """Split an MRZ text into lines: strip blanks and CR, drop empty lines, upper-case."""
    lines = [line.strip().replace(" ", "").upper() for line in text.replace("\r", "\n").split("\n")]
    return [line for line in lines if line]


def parse_mrz(text: str | list[str] | tuple[str, ...]) -> MRZ:
    lines = normalise(text) if isinstance(text, str) else [line.strip().upper() for line in text if line.strip()]
    for line in lines:
        if not _ALLOWED.match(line):
            raise MRZError("MRZ contains characters outside A-Z, 0-9 and '<'")
    if len(lines) == 3 and all(len(line) == 30 for line in lines):
        return _parse_td1(lines)
    if len(lines) == 2 and all(len(line) == 44 for line in lines):
        return _parse_td3(lines)
    if len(lines) == 2 and all(len(line) == 36 for line in lines):
        return _parse_td2(lines)
    lengths = [len(x) for x in lines]
    raise MRZError(f"not a TD1 (3x30), TD2 (2x36) or TD3 (2x44) MRZ: {len(lines)} lines of lengths {lengths}")


def _parse_td3(lines: list[str]) -> MRZ:
    l1, l2 = lines
    primary, secondary = _name(l1[5:44])
    checks = {
        "document_number": _digit_ok(l2[0:9], l2[9]),
        "date_of_birth": _digit_ok(l2[13:19], l2[19]),
        "date_of_expiry": _digit_ok(l2[21:27], l2[27]),
        "optional_data": _digit_ok(l2[28:42], l2[42]),
        "composite": _digit_ok(l2[0:10] + l2[13:20] + l2[21:43], l2[43]),
    }
    return MRZ(
        kind="TD3",
        lines=tuple(lines),
        document_code=l1[0:2].rstrip("<"),
        issuing_state=l1[2:5],
        document_number=l2[0:9].rstrip("<"),
        document_number_check=l2[9],
        date_of_birth=l2[13:19],
        date_of_birth_check=l2[19],
        sex=l2[20],
        date_of_expiry=l2[21:27],
        date_of_expiry_check=l2[27],
        nationality=l2[10:13],
        optional_data=l2[28:42].rstrip("<"),
        optional_data_2="",
        primary_identifier=primary,
        secondary_identifier=secondary,
        check_digits=checks,
    )


def _parse_td2(lines: list[str]) -> MRZ:
    """TD2 (2 x 36, ICAO 9303-6): rare today, but still in circulation on older identity cards."""
    l1, l2 = lines
    primary, secondary = _name(l1[5:36])
    checks = {
        "document_number": _digit_ok(l2[0:9], l2[9]),
        "date_of_birth": _digit_ok(l2[13:19], l2[19]),
        "date_of_expiry": _digit_ok(l2[21:27], l2[27]),
        "composite": _digit_ok(l2[0:10] + l2[13:20] + l2[21:35], l2[35]),
    }
    return MRZ(
        kind="TD2",
        lines=tuple(lines),
        document_code=l1[0:2].rstrip("<"),
        issuing_state=l1[2:5],
        document_number=l2[0:9].rstrip("<"),
        document_number_check=l2[9],
        date_of_birth=l2[13:19],
        date_of_birth_check=l2[19],
        sex=l2[20],
        date_of_expiry=l2[21:27],
        date_of_expiry_check=l2[27],
        nationality=l2[10:13],
        optional_data=l2[28:35].rstrip("<"),
        optional_data_2="",
        primary_identifier=primary,
        secondary_identifier=secondary,
        check_digits=checks,
    )


def _parse_td1(lines: list[str]) -> MRZ:
    l1, l2, l3 = lines
    number_field, number_check, optional_1 = l1[5:14], l1[14], l1[15:30]
    checks: dict[str, bool] = {}
    if number_check == "<" and optional_1[:1] not in ("", "<"):
        # Long document number: continues in the optional field, its check digit is the last char before '<'.
        extension = optional_1.split("<", 1)[0]
        if len(extension) < 2:
            raise MRZError("TD1 long document number without continuation")
        number = number_field + extension[:-1]
        number_check = extension[-1]
        checks["document_number"] = _digit_ok(number, number_check)
        optional_1 = optional_1[len(extension) :]
    else:
        number = number_field.rstrip("<")
        checks["document_number"] = _digit_ok(number_field, number_check)
    checks["date_of_birth"] = _digit_ok(l2[0:6], l2[6])
    checks["date_of_expiry"] = _digit_ok(l2[8:14], l2[14])
    checks["composite"] = _digit_ok(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    primary, secondary = _name(l3)
    return MRZ(
        kind="TD1",
        lines=tuple(lines),
        document_code=l1[0:2].rstrip("<"),
        issuing_state=l1[2:5],
        document_number=number,
        document_number_check=number_check,
        date_of_birth=l2[0:6],
        date_of_birth_check=l2[6],
        sex=l2[7],
        date_of_expiry=l2[8:14],
        date_of_expiry_check=l2[14],
        nationality=l2[15:18],
        optional_data=optional_1.strip("<"),
        optional_data_2=l2[18:29].rstrip("<"),
        primary_identifier=primary,
        secondary_identifier=secondary,
        check_digits=checks,
    )


def key_information(document_number: str, date_of_birth: str, date_of_expiry: str) -> str:
    """MRZ_information from the three fields alone (e.g. typed in by an officer)."""
    number = document_number.upper().ljust(9, "<")
    return number + check_digit(number) + date_of_birth + check_digit(date_of_birth) + date_of_expiry + check_digit(
        date_of_expiry
    )


@dataclass(frozen=True, repr=False)
class CAN:
    """Card Access Number printed on the card (PACE password), usually 6 digits."""

    value: str

    def __post_init__(self) -> None:
        if not self.value.isdigit() or not 1 <= len(self.value) <= 12:
            raise MRZError("a CAN is 1 to 12 digits")

    def __repr__(self) -> str:
        return "CAN(<hidden>)"
