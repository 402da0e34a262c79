"""The whole reading procedure against the simulated chip, in process (no pcscd): genuine documents read and
authenticate; each forged variant fails exactly its check while the others are still reported; a card pulled
mid-read gives an aborted result, never an exception."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.document import checks as C
from edge.document.errors import TransportError
from edge.document.mrz import CAN, parse_mrz
from edge.document.session import ReadOptions, read_document
from edge.document.trust import TrustStore
from edge.gate.events import CheckResult, DocumentAuthenticated, DocumentRejected
from simulators.card.chip import Chip
from simulators.card.factory import DEFECTS, TestPKI, issue_document

S, F = CheckResult.SUCCESSFUL, CheckResult.FAILED


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI(seed=11)


@pytest.fixture(scope="module")
def trust_store(pki, tmp_path_factory) -> TrustStore:
    return TrustStore.load(pki.write_trust_store(tmp_path_factory.mktemp("trust")))


def _chip(document, **kwargs) -> Chip:
    return Chip(document.files, mrz_information=parse_mrz(document.mrz).key_information(), can=document.can,
                aa_private_key=document.aa_key, ca_private_key=document.ca_key, **kwargs)


def _read(document, pki, trust_store, chip=None, key=None, **options):
    chip = chip or _chip(document)
    key = key or parse_mrz(document.mrz)
    return read_document(chip.process, key, ReadOptions(**options), trust_store, pki.now)


def _assert_all_reported(result, failed=()):
    assert set(result.checks) == set(C.CHECK_NAMES)
    assert CheckResult.ABORTED not in result.checks.values()
    assert {name for name, value in result.checks.items() if value is F} == set(failed)


@pytest.mark.parametrize("kind", ["TD1", "TD3"])
@pytest.mark.parametrize("protocol", ["bac", "pace"])
def test_genuine_document_reads_and_authenticates(kind, protocol, pki, trust_store):
    document = issue_document(pki, kind=kind, seed=f"{kind}-{protocol}")
    result = _read(document, pki, trust_store, preferred_protocol=protocol)
    _assert_all_reported(result)
    assert result.protocol == protocol.upper() and not result.fallback and not result.error
    assert result.document_type == kind and result.mrz.lines == parse_mrz(document.mrz).lines
    assert result.checks[C.ACTIVE_AUTHENTICATION] is S
    assert result.checks[C.CHIP_AUTHENTICATION] is CheckResult.NOT_SUPPORTED
    assert result.portrait.ndim == 3 and result.portrait.shape[2] == 3 and result.portrait_format == "jpeg"
    assert result.data_groups_read == (1, 2, 14, 15) and result.apdu_count > 5
    assert {"access_control", "dg2", "total"} <= set(result.timings_ms)
    assert result.verdict().accepted
    event = result.to_event()
    assert isinstance(event, DocumentAuthenticated) and event.portrait is result.portrait
    assert dict(event.checks)[C.SOD_SIGNATURE] is S


EXPECTED_FAILURE = {
    "tampered_dg1": {C.DATA_GROUP_HASHES},
    "tampered_dg2": {C.DATA_GROUP_HASHES},
    "bad_sod_signature": {C.SOD_SIGNATURE},
    "unknown_csca": {C.SIGNER_CHAIN},
    "revoked_signer": {C.SIGNER_REVOCATION},
    "expired_signer": {C.SIGNER_VALIDITY},
    "signer_not_yet_valid": {C.SIGNER_VALIDITY},
    "expired_document": {C.DOCUMENT_EXPIRY},
    "cloned_chip": {C.ACTIVE_AUTHENTICATION},
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_forged_variant_fails_its_own_check_and_reports_the_others(defect, pki, trust_store):
    document = issue_document(pki, kind="TD3", seed=f"forged-{defect}", defect=defect)
    result = _read(document, pki, trust_store)
    _assert_all_reported(result, failed=EXPECTED_FAILURE[defect])
    verdict = result.verdict()
    assert not verdict.accepted and not verdict.retryable
    assert isinstance(result.to_event(), DocumentRejected)
    if defect == "tampered_dg2":
        assert result.details[C.DATA_GROUP_HASHES] == "dg2"


def test_pace_with_the_can_needs_no_mrz(pki, trust_store):
    document = issue_document(pki, kind="TD1", seed="can")
    result = _read(document, pki, trust_store, key=CAN(document.can))
    assert result.protocol == "PACE" and result.verdict().accepted
    assert result.checks[C.DG1_MATCHES_MRZ] is CheckResult.NOT_SUPPORTED
    assert result.checks[C.MRZ_CHECK_DIGITS] is S  # DG1's own digits


def test_pace_on_brainpool_and_chip_authentication(pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="ca", pace_curves=("brainpoolP256r1",), chip_authentication=True)
    result = _read(document, pki, trust_store)
    _assert_all_reported(result)
    assert result.protocol == "PACE" and result.checks[C.CHIP_AUTHENTICATION] is S


def test_a_chip_without_the_chip_authentication_key_fails_it_and_is_not_read_further(pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="ca-clone", chip_authentication=True)
    other = issue_document(pki, kind="TD3", seed="ca-other", chip_authentication=True)
    chip = _chip(document)
    chip.ca_private_key = other.ca_key
    result = _read(document, pki, trust_store, chip=chip)
    assert result.checks[C.CHIP_AUTHENTICATION] is F and not result.error
    assert result.checks[C.SOD_SIGNATURE] is S and result.portrait is None
    assert result.verdict() == C.Verdict(False, "chip_authentication_failed", False)


def test_rsa_active_authentication(pki, trust_store):
    document = issue_document(pki, kind="TD1", seed="rsa-aa", active_authentication="rsa")
    result = _read(document, pki, trust_store)
    assert result.checks[C.ACTIVE_AUTHENTICATION] is S and result.verdict().accepted


def test_bac_only_chip_falls_back_visibly(pki, trust_store):
    document = issue_document(pki, kind="TD1", seed="bac-only", pace_curves=())
    chip = _chip(document, pace=False)
    result = _read(document, pki, trust_store, chip=chip)
    assert (result.protocol, result.fallback) == ("PACE->BAC", True) and result.verdict().accepted


def test_pace_refused_by_the_chip_falls_back_to_bac(pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="pace-refused")  # EF.CardAccess offers PACE ...
    chip = _chip(document, pace=False)  # ... but the chip refuses MSE:SET AT
    result = _read(document, pki, trust_store, chip=chip)
    assert (result.protocol, result.fallback) == ("PACE->BAC", True) and result.verdict().accepted


def test_options_follow_the_document_settings():
    import edge.config  # noqa: F401  (edge.document.settings is imported through the schema first)
    from edge.document.session import options_from_settings
    from edge.document.settings import DocumentSettings

    options = options_from_settings(DocumentSettings(access_control="bac", allow_bac_fallback=False, crl_max_age_h=6))
    assert (options.preferred_protocol, options.allow_bac_fallback) == ("bac", False)
    assert options.crl_max_age == dt.timedelta(hours=6)


def test_no_fallback_when_not_allowed(pki, trust_store):
    document = issue_document(pki, kind="TD1", seed="bac-only-2", pace_curves=())
    result = _read(document, pki, trust_store, chip=_chip(document, pace=False), allow_bac_fallback=False)
    assert result.error == "access_control_failed" and result.verdict().retryable
    assert result.checks[C.SOD_SIGNATURE] is CheckResult.ABORTED


def test_pace_only_chip_with_preferred_bac_still_reads_if_fallback_not_needed(pki, trust_store):
    document = issue_document(pki, kind="TD1", seed="pace-only")
    chip = _chip(document, bac=False)
    result = _read(document, pki, trust_store, chip=chip, preferred_protocol="pace")
    assert result.protocol == "PACE" and result.verdict().accepted


def test_wrong_mrz_gives_a_retryable_access_control_failure(pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="wrong-key")
    wrong = issue_document(pki, kind="TD3", seed="someone-else")
    result = _read(document, pki, trust_store, key=parse_mrz(wrong.mrz))
    assert result.error.startswith("access_control") and result.verdict().retryable


def test_card_pulled_mid_read_is_aborted_and_the_next_card_reads(pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="pulled")
    chip = _chip(document)
    sent = []

    def flaky(apdu: bytes) -> bytes:
        sent.append(apdu)
        if len(sent) == 15:
            raise TransportError("card removed")
        return chip.process(apdu)

    result = read_document(flaky, parse_mrz(document.mrz), ReadOptions(), trust_store, pki.now)
    assert result.error == "card_removed"
    assert result.checks[C.SOD_SIGNATURE] is CheckResult.ABORTED
    assert result.checks[C.MRZ_CHECK_DIGITS] is S  # the scanned MRZ was fine
    verdict = result.verdict()
    assert not verdict.accepted and verdict.retryable and result.portrait is None
    chip.reset()
    assert _read(document, pki, trust_store, chip=chip).verdict().accepted


def test_a_forged_response_mac_aborts_the_reading(pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="bad-mac")
    chip = _chip(document)
    count = [0]

    def corrupting(apdu: bytes) -> bytes:
        count[0] += 1
        response = chip.process(apdu)
        if count[0] == 16:
            response = bytes([response[0] ^ 1]) + response[1:]
        return response

    result = read_document(corrupting, parse_mrz(document.mrz), ReadOptions(), trust_store, pki.now)
    assert result.error == "secure_messaging_error" and result.verdict().retryable


@pytest.mark.parametrize("extended", [True, False])
def test_a_portrait_beyond_32k_is_read_with_odd_ins(extended, pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="big", portrait=_big_jpeg(40_000))
    assert len(document.files["DG2"]) > 32_768
    chip = _chip(document, extended_length=extended)
    result = _read(document, pki, trust_store, chip=chip)
    _assert_all_reported(result)
    assert result.portrait is not None
    if not extended:
        assert result.apdu_count > len(document.files["DG2"]) // 223


def test_jpeg2000_portrait_is_decoded(pki, trust_store):
    document = issue_document(pki, kind="TD1", seed="jp2", portrait_format="jpeg2000")
    result = _read(document, pki, trust_store)
    assert result.portrait_format == "jpeg2000" and result.portrait.shape[2] == 3 and result.verdict().accepted


def test_without_trust_store_the_chain_is_undetermined_and_the_document_refused(pki):
    document = issue_document(pki, kind="TD1", seed="no-trust")
    result = _read(document, pki, None)
    assert result.checks[C.SIGNER_CHAIN] is CheckResult.UNDETERMINED
    assert result.checks[C.SOD_SIGNATURE] is S
    assert result.verdict().reason == "signer_chain_undetermined"


def test_stale_crl_makes_revocation_undetermined(pki, trust_store):
    document = issue_document(pki, kind="TD1", seed="stale")
    chip = _chip(document)
    later = pki.now + dt.timedelta(days=40)  # past the CRL's next update, documents still valid
    result = read_document(chip.process, parse_mrz(document.mrz), ReadOptions(), trust_store, later)
    assert result.checks[C.SIGNER_REVOCATION] is CheckResult.UNDETERMINED
    assert result.details[C.SIGNER_REVOCATION] == "crl_stale"
    assert result.verdict().accepted  # a stale CRL alone does not close the border ...
    assert result.verdict(require_revocation_status=True).reason == "signer_revocation_undetermined"  # ... unless asked


def test_required_chip_authentication_refuses_a_chip_without_aa_or_ca(pki, trust_store):
    document = issue_document(pki, kind="TD1", seed="no-aa", active_authentication=None)
    result = _read(document, pki, trust_store)
    assert result.verdict().accepted
    assert result.verdict(require_chip_authentication=True).reason == "chip_authentication_missing"


def test_result_repr_holds_no_personal_data(pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="repr")
    result = _read(document, pki, trust_store)
    text = repr(result) + repr(result.to_event())
    mrz = parse_mrz(document.mrz)
    assert mrz.document_number not in text and mrz.primary_identifier not in text


def _big_jpeg(min_bytes: int) -> bytes:
    import cv2
    import numpy as np

    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (400, 300, 3), dtype=np.uint8)  # noise compresses badly: a big file
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok and len(data) >= min_bytes
    return data.tobytes()


def test_pace_cam_authenticates_the_chip_during_access_control(pki, trust_store):
    from edge.document.pace import card_access_for

    document = issue_document(pki, kind="TD1", seed="cam", chip_authentication=True)
    files = dict(document.files, CardAccess=card_access_for("P-256", "AES-128", "CAM"))
    chip = Chip(files, mrz_information=parse_mrz(document.mrz).key_information(), ca_private_key=document.ca_key,
                aa_private_key=document.aa_key)
    result = _read(document, pki, trust_store, chip=chip)
    _assert_all_reported(result)
    assert result.protocol == "PACE" and result.checks[C.CHIP_AUTHENTICATION] is S
    assert result.details[C.CHIP_AUTHENTICATION] == "pace_cam" and result.verdict().accepted

    clone_key = issue_document(pki, kind="TD1", seed="cam-clone", chip_authentication=True).ca_key
    clone = Chip(files, mrz_information=parse_mrz(document.mrz).key_information(), ca_private_key=clone_key)
    result = _read(document, pki, trust_store, chip=clone)
    assert result.checks[C.CHIP_AUTHENTICATION] is F
    assert result.verdict().reason == "chip_authentication_failed"


def test_pace_cam_with_dg14_withheld_fails_chip_authentication_and_reading_goes_on(pki, trust_store):
    from edge.document.pace import card_access_for

    document = issue_document(pki, kind="TD1", seed="cam-no-dg14", chip_authentication=True)
    files = dict(document.files, CardAccess=card_access_for("P-256", "AES-128", "CAM"))
    del files["DG14"]
    chip = Chip(files, mrz_information=parse_mrz(document.mrz).key_information(), ca_private_key=document.ca_key,
                aa_private_key=document.aa_key)
    result = _read(document, pki, trust_store, chip=chip)
    assert result.checks[C.CHIP_AUTHENTICATION] is F
    assert result.details[C.CHIP_AUTHENTICATION] == "dg14_unreadable"
    assert result.portrait is not None and result.checks[C.ACTIVE_AUTHENTICATION] is S


def test_a_clone_hiding_dg15_from_ef_com_still_faces_active_authentication(pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="hide-dg15", defect="cloned_chip")
    files = dict(document.files, COM=bytes.fromhex("60055C0361756E"))  # DG1, DG2, DG14: no DG15
    result = _read(document, pki, trust_store, chip=Chip(files, mrz_information=parse_mrz(
        document.mrz).key_information(), aa_private_key=document.aa_key))
    assert result.checks[C.ACTIVE_AUTHENTICATION] is F and 15 in result.data_groups_read

    del files["DG15"]  # and a chip that does not even have it
    result = _read(document, pki, trust_store, chip=Chip(files, mrz_information=parse_mrz(
        document.mrz).key_information(), aa_private_key=document.aa_key))
    assert result.checks[C.ACTIVE_AUTHENTICATION] is F
    assert result.details[C.ACTIVE_AUTHENTICATION] == "dg15_unreadable"


def test_a_chip_withholding_dg14_fails_chip_authentication(pki, trust_store):
    document = issue_document(pki, kind="TD3", seed="hide-dg14", chip_authentication=True)
    files = {name: data for name, data in document.files.items() if name != "DG14"}
    result = _read(document, pki, trust_store, chip=Chip(files, mrz_information=parse_mrz(
        document.mrz).key_information(), aa_private_key=document.aa_key, ca_private_key=document.ca_key))
    assert result.checks[C.CHIP_AUTHENTICATION] is F and not result.verdict().accepted


@pytest.mark.parametrize("protocol", ["bac", "pace"])
def test_a_replayable_chip_answers_a_recorded_session_again_and_an_ordinary_one_refuses(protocol, pki, trust_store):
    # The card-read benchmark's reference: the wire bytes of a read, sent again, must still be accepted.
    document = issue_document(pki, kind="TD3", seed="replay")
    wire: list[tuple[bytes, bytes]] = []

    def recorded(chip):
        def transmit(command: bytes) -> bytes:
            answer = chip.process(command)
            wire.append((command, answer))
            return answer
        return transmit

    for seed, replayable in ((b"bench", True), (None, False)):
        wire.clear()
        chip = _chip(document, rng_seed=seed)
        result = read_document(recorded(chip), parse_mrz(document.mrz), ReadOptions(preferred_protocol=protocol),
                               trust_store, pki.now)
        assert result.verdict().accepted
        chip.reset()
        status_words = [chip.process(command)[-2:] for command, _ in wire]
        matches = [got == answer[-2:] for got, (_, answer) in zip(status_words, wire, strict=True)]
        assert all(matches) is replayable
