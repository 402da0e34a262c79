"""Traveller scenarios for the simulated gate: what each traveller does and what the gate must conclude.

Pure data. The simulated devices read a traveller's scenario to decide what the document, the camera
and the passage sensors report; the run fails if any transaction ends differently from `expected`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    name: str
    document: str = "genuine"  # genuine, pulled (card taken away mid-read), or a factory defect (DEFECTS)
    document_type: str = "TD3"  # TD1 identity card | TD3 passport
    face: str = "match"  # match | mismatch | pad | no_face | two_faces
    behaviour: str = "normal"  # normal | never_enters | tailgater | fire_alarm | door_obstruction | mcu_reset |
    #                            broker_outage
    hardware_only: bool = False  # needs the simulators (a door controller, a broker): not for --in-process
    expected_outcome: str = "cleared"
    expected_reason: str = "ok"


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("genuine_td1", document_type="TD1"),
        Scenario("genuine_td3"),
        Scenario("genuine_second_face", face="two_faces"),
        Scenario("impostor", face="mismatch", expected_outcome="referred", expected_reason="face_mismatch"),
        Scenario(
            "forged_document",
            document="tampered_dg1",
            expected_outcome="referred",
            expected_reason="data_group_hash_mismatch",
        ),
        Scenario(
            "revoked_document", document="revoked_signer", expected_outcome="referred", expected_reason="signer_revoked"
        ),
        Scenario(
            "expired_document",
            document="expired_document",
            expected_outcome="referred",
            expected_reason="document_expired",
        ),
        Scenario(
            "cloned_chip",
            document="cloned_chip",
            expected_outcome="referred",
            expected_reason="active_authentication_failed",
        ),
        Scenario("card_pulled_early", document="pulled", expected_outcome="abandoned", expected_reason="card_removed"),
        Scenario(
            "never_enters",
            behaviour="never_enters",
            expected_outcome="abandoned",
            expected_reason="traveller_did_not_enter",
        ),
        Scenario("face_not_visible", face="no_face", expected_outcome="referred", expected_reason="capture_timeout"),
        Scenario("pad_attack", face="pad", expected_outcome="referred", expected_reason="pad_alarm"),
        Scenario("tailgater", behaviour="tailgater", expected_outcome="referred", expected_reason="tailgating"),
        Scenario("fire_alarm", behaviour="fire_alarm", expected_outcome="aborted", expected_reason="fire_alarm"),
        # A bag in the closing entry door: the firmware reverses it, the gate closes it again, the traveller passes.
        Scenario("door_obstruction", behaviour="door_obstruction", hardware_only=True),
        # The door controller restarts while the face is checked: the link resynchronises, the traveller passes.
        Scenario("mcu_reset", behaviour="mcu_reset", hardware_only=True),
        # The site broker is down for this traveller: the gate works on, the record arrives when it is back.
        Scenario("broker_outage", behaviour="broker_outage", hardware_only=True),
    )
}

# A plausible day at a control point: most travellers are genuine; every exception appears now and then.
DEFAULT_MIX: dict[str, float] = {
    "genuine_td1": 30,
    "genuine_td3": 30,
    "genuine_second_face": 3,
    "impostor": 4,
    "forged_document": 3,
    "revoked_document": 2,
    "expired_document": 2,
    "cloned_chip": 2,
    "card_pulled_early": 3,
    "never_enters": 2,
    "face_not_visible": 3,
    "pad_attack": 3,
    "tailgater": 3,
    "fire_alarm": 1,
    "door_obstruction": 2,
    "mcu_reset": 1,
    "broker_outage": 1,
}


def traveller_mix(
    count: int, seed: int, mix: dict[str, float] | None = None, *, hardware: bool = True
) -> list[Scenario]:
    """`count` scenarios drawn from `mix`; each scenario of the mix appears at least once when count allows.
    Without `hardware` (in-process stand-ins) the scenarios that need the simulators are left out."""
    weights = {
        name: weight
        for name, weight in (mix or DEFAULT_MIX).items()
        if hardware or name not in SCENARIOS or not SCENARIOS[name].hardware_only
    }
    unknown = sorted(set(weights) - set(SCENARIOS))
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)}")
    rng = random.Random(seed)
    names = list(weights)
    chosen = names[:count] if count >= len(names) else []
    chosen += rng.choices(names, weights=[weights[n] for n in names], k=count - len(chosen))
    rng.shuffle(chosen)
    return [SCENARIOS[name] for name in chosen]
