"""MRZ parsing: TD1 and TD3 shapes, every check digit, key information, no personal data in repr."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.document.errors import MRZError
from edge.document.mrz import CAN, check_digit, parse_mrz

TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"


def test_check_digit_examples_from_9303_3():
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("<<<<<<") == "0"


def test_td3_specimen_fields_and_check_digits():
    mrz = parse_mrz(TD3)
    assert mrz.kind == "TD3" and mrz.document_code == "P" and mrz.issuing_state == "UTO"
    assert (mrz.primary_identifier, mrz.secondary_identifier) == ("ERIKSSON", "ANNA MARIA")
    assert (mrz.document_number, mrz.nationality, mrz.sex) == ("L898902C3", "UTO", "F")
    assert (mrz.date_of_birth, mrz.date_of_expiry, mrz.optional_data) == ("740812", "120415", "ZE184226B")
    assert mrz.check_digits_ok and set(mrz.check_digits) == {
        "document_number", "date_of_birth", "date_of_expiry", "optional_data", "composite"}
    assert mrz.key_information() == "L898902C3674081221204159"
    assert mrz.expiry_date() == dt.date(2012, 4, 15)
    assert mrz.birth_date(dt.date(2026, 1, 1)) == dt.date(1974, 8, 12)


def test_td1_specimen_fields_and_composite():
    mrz = parse_mrz(TD1)
    assert mrz.kind == "TD1" and mrz.document_number == "D23145890"
    assert mrz.check_digits_ok and "composite" in mrz.check_digits
    assert mrz.key_information() == "D23145890774081221204159"


def test_td2_specimen():
    mrz = parse_mrz("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6")
    assert mrz.kind == "TD2" and mrz.document_number == "D23145890" and mrz.check_digits_ok
    assert mrz.key_information() == "D23145890774081221204159"


def test_td1_long_document_number_continues_in_the_optional_field():
    number = "D23145890AB"
    line1 = ("I<UTO" + number[:9] + "<" + number[9:] + check_digit(number)).ljust(30, "<")
    line2_head = "7408122F1204159UTO<<<<<<<<<<<"
    composite = check_digit(line1[5:30] + line2_head[0:7] + line2_head[8:15] + line2_head[18:29])
    mrz = parse_mrz([line1, line2_head + composite, "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"])
    assert mrz.document_number == number and mrz.check_digits_ok


@pytest.mark.parametrize("position,name", [(9, "document_number"), (19, "date_of_birth"),
                                           (27, "date_of_expiry"), (42, "optional_data"), (43, "composite")])
def test_each_wrong_td3_check_digit_is_reported_by_name(position, name):
    line1, line2 = TD3.split("\n")
    wrong = str((int(line2[position]) + 1) % 10)
    mrz = parse_mrz([line1, line2[:position] + wrong + line2[position + 1 :]])
    assert name in mrz.failed_check_digits and not mrz.check_digits_ok


@pytest.mark.parametrize("text", ["", "P<UTO", TD3.replace("<", "?"), TD3 + "\nXX", TD1[:-1]])
def test_malformed_mrz_raises_mrz_error(text):
    with pytest.raises(MRZError):
        parse_mrz(text)


def test_repr_hides_personal_data():
    mrz = parse_mrz(TD3)
    assert "ERIKSSON" not in repr(mrz) and "L898902C" not in str(mrz)
    assert "123456" not in repr(CAN("123456"))


def test_can_is_digits_only():
    with pytest.raises(MRZError):
        CAN("12a456")
