"""PACE generic mapping: the ICAO 9303-11 Appendix G.1 worked example, then terminal against the simulated chip."""

from __future__ import annotations

import os

import pytest

from edge.document import apdu as A
from edge.document import pace
from edge.document.errors import AccessControlError
from edge.document.securityinfo import PACEInfo, parse_security_infos
from simulators.card.chip import Chip

H = bytes.fromhex
MRZ_INFO = "T22000129364081251010318"  # Appendix G: T22000129, 640812, 101031 with check digits


def test_appendix_g1_ecdh_generic_mapping_brainpool_p256r1():
    params = pace.PACEParameters("0.4.0.127.0.7.2.2.4.2.2", 13)
    password = pace.PACEPassword.from_mrz(MRZ_INFO)
    assert password.secret == H("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD")
    assert password.key(params.suite) == H("89DED1B26624EC1E634C1989302849DD")

    terminal = pace.PACETerminal(params, password)
    assert terminal.set_at().data == H("800A04007F0007020204020283010184010D")
    assert terminal.step1().encode() == H("10860000027C0000")

    command = terminal.step2(H("7C12801095A3A016522EE98D01E76CB6B98B42C3"),
                             mapping_key=int("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99", 16))
    assert terminal.nonce == H("3F00C4D39D153F2B2A214A078D899B22")
    assert command.data == H(
        "7C438141047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115B55C9BAA6D"
        "9F6BC3A9618E70C25AF71777A9C4922D")

    command = terminal.step3(
        H("7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D5"
          "2EB87A0A0C709A49DC63719363CCD13C54"),
        ephemeral_key=int("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595", 16))
    assert pace.encode_point(params.group, terminal._generator) == H(
        "048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E28C879506743F8611AC33645C5B985C80B5F09A0B"
        "83407C1B6A4D857AE76FE522")
    assert command.data == H(
        "7C438341042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C3556F3B3B186DF10B857B58F6A7EB80F"
        "20BA5DC7BE1D43D9BF850149FBB36462")

    command = terminal.step4(
        H("7C438441049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9C"
          "B852E111B768B326904B59A0193776F094"))
    assert terminal.ks_enc == H("F5F0E35C0D7161EE6724EE513A0D9A7F")
    assert terminal.ks_mac == H("FE251C7858B356B24514B3BD5F4297D1")
    assert command.cla == 0x00 and command.data == H("7C0A8508C2B0BD78D94BA866")

    sm = terminal.finish(H("7C0A86083ABB9674BCE93C08"))
    assert sm.ssc == 0 and sm.suite.name == "AES"
    with pytest.raises(AccessControlError):
        terminal.finish(H("7C0A86083ABB9674BCE93C09"))


def test_card_access_parsing_and_choice():
    infos = parse_security_infos(H("3114301206" + "0A04007F0007020204020202010202010D"))
    assert infos == [PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13)]
    assert pace.choose_parameters(infos) == pace.PACEParameters("0.4.0.127.0.7.2.2.4.2.2", 13)
    assert pace.choose_parameters([PACEInfo("0.4.0.127.0.7.2.2.4.4.2", 2, 13)]) is None  # integrated mapping


def _run_pace(chip: Chip, params: pace.PACEParameters, password: pace.PACEPassword):
    terminal = pace.PACETerminal(params, password)

    def send(command):
        response = chip.process(command.encode())
        if response[-2:] != b"\x90\x00":
            raise AccessControlError(response[-2:].hex())
        return response[:-2]

    assert chip.process(A.select_aid().encode()) == b"\x90\x00"
    send(terminal.set_at())
    response = send(terminal.step1())
    response = send(terminal.step2(response))
    response = send(terminal.step3(response))
    response = send(terminal.step4(response))
    return terminal.finish(response)


@pytest.mark.parametrize("curve", ["brainpoolP256r1", "P-256"])
@pytest.mark.parametrize("cipher", ["AES-128", "AES-256", "3DES"])
def test_terminal_and_chip_agree_and_read_under_secure_messaging(curve, cipher):
    ef_com = H("60145F0104303130365F36063034303030305C026175")
    chip = Chip({"COM": ef_com}, mrz_information=MRZ_INFO, pace_curve=curve, pace_cipher=cipher)
    sm = _run_pace(chip, pace.PACEParameters.named(curve, cipher), pace.PACEPassword.from_mrz(MRZ_INFO))
    assert sm.unprotect(chip.process(sm.protect(A.select_ef(A.EF_COM)))) == (b"", 0x9000)
    data, _ = sm.unprotect(chip.process(sm.protect(A.read_binary(0, 22))))
    assert data == ef_com


@pytest.mark.parametrize("curve", ["P-384", "brainpoolP224r1", "brainpoolP320r1"])
def test_pace_on_other_standardized_curves_including_those_on_pure_python_arithmetic(curve):
    chip = Chip({"COM": b"\x60\x00"}, mrz_information=MRZ_INFO, pace_curve=curve, pace_cipher="AES-128")
    sm = _run_pace(chip, pace.PACEParameters.named(curve), pace.PACEPassword.from_mrz(MRZ_INFO))
    assert sm.unprotect(chip.process(sm.protect(A.select_ef(A.EF_COM)))) == (b"", 0x9000)


def test_pace_with_the_can():
    chip = Chip({"COM": b"\x60\x00"}, mrz_information=MRZ_INFO, can="123456")
    sm = _run_pace(chip, pace.PACEParameters.named(), pace.PACEPassword.from_can("123456"))
    assert sm.unprotect(chip.process(sm.protect(A.select_ef(A.EF_COM)))) == (b"", 0x9000)


def test_wrong_password_fails_the_token_check():
    chip = Chip({"COM": b"\x60\x00"}, mrz_information=MRZ_INFO, can="123456")
    with pytest.raises(AccessControlError):
        _run_pace(chip, pace.PACEParameters.named(), pace.PACEPassword.from_can("654321"))


def test_a_point_off_the_curve_is_refused():
    params = pace.PACEParameters.named()
    with pytest.raises(AccessControlError):
        pace.decode_point(params.group, b"\x04" + bytes(64))
    terminal = pace.PACETerminal(params, pace.PACEPassword.from_can("1"), rng=os.urandom)
    terminal.step2(pace._dynamic_auth(0x80, bytes(16)))
    with pytest.raises(AccessControlError):
        terminal.step3(pace._dynamic_auth(0x82, b"\x04" + bytes(64)))


@pytest.mark.parametrize("curve,crypto_curve", [("P-256", "SECP256R1"), ("brainpoolP256r1", "BrainpoolP256R1")])
def test_chip_authentication_mapping_proves_the_static_key(curve, crypto_curve):
    from cryptography.hazmat.primitives.asymmetric import ec

    static = ec.generate_private_key(getattr(ec, crypto_curve)())
    chip = Chip({"COM": b"\x60\x00", "CardAccess": pace.card_access_for(curve, "AES-128", "CAM")},
                mrz_information=MRZ_INFO, ca_private_key=static)
    params = pace.PACEParameters.named(curve, "AES-128", "CAM")
    terminal = pace.PACETerminal(params, pace.PACEPassword.from_mrz(MRZ_INFO))

    def send(command):
        response = chip.process(command.encode())
        assert response[-2:] == b"\x90\x00", response.hex()
        return response[:-2]

    send(A.select_aid())
    send(terminal.set_at())
    response = send(terminal.step1())
    response = send(terminal.step2(response))
    response = send(terminal.step3(response))
    response = send(terminal.step4(response))
    sm = terminal.finish(response)
    assert terminal.verify_chip_authentication_mapping(static.public_key())
    assert not terminal.verify_chip_authentication_mapping(ec.generate_private_key(static.curve).public_key())
    assert not terminal.verify_chip_authentication_mapping(ec.generate_private_key(ec.SECP384R1()).public_key())
    assert sm.unprotect(chip.process(sm.protect(A.select_ef(A.EF_COM)))) == (b"", 0x9000)


def test_cam_is_preferred_and_3des_cam_does_not_exist():
    gm = PACEInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 12)
    cam = PACEInfo("0.4.0.127.0.7.2.2.4.6.2", 2, 12)
    assert pace.choose_parameters([gm, cam]).chip_authentication_mapping
    assert not pace.PACEParameters("0.4.0.127.0.7.2.2.4.6.1", 12).supported
