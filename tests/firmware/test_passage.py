"""Passage sensing: travellers walking through the simulated beams, seen by the real firmware."""

from __future__ import annotations

from raw_host import RawHost

from firmware import protocol as P
from firmware.sensors import BeamPair, people_in_pattern
from simulators.doors.sim import DoorSim


def admit(host: RawHost) -> None:
    """Entry open, exit closed and locked: the state in which a traveller steps in."""
    host.command(P.OP_OPEN, P.DOOR_ENTRY)
    host.command(P.OP_LOCK, P.DOOR_EXIT)
    host.run(2000)


class TestOneTraveller:
    def test_enter_stand_and_leave_gives_the_events_in_order(self, host: RawHost) -> None:
        admit(host)
        host.sim.walk("a", to=1.0)
        host.run(3000)
        # occupied as soon as the traveller is past the inner entry beam, the passage once fully inside
        assert sorted(host.event_names()) == ["compartment_occupied", "entry_passage"]
        assert host.status().persons == 1
        host.command(P.OP_CLOSE, P.DOOR_ENTRY)
        host.command(P.OP_OPEN, P.DOOR_EXIT)
        host.run(2000)
        host.sim.walk("a", to=3.0)
        host.run(3000)
        assert host.event_names()[2:] == ["exit_passage", "compartment_empty"]
        assert host.status().persons == 0

    def test_a_closed_door_keeps_the_traveller_out(self, host: RawHost) -> None:
        host.command(P.OP_LOCK, P.DOOR_ALL)
        host.run(2000)
        host.sim.walk("a", to=1.0)
        host.run(3000)
        assert host.sim.world.travellers["a"].x < 0
        assert "entry_passage" not in host.event_names()

    def test_stepping_back_out_is_a_retreat(self, host: RawHost) -> None:
        admit(host)
        host.sim.walk("a", to=1.0)
        host.run(2500)
        host.sim.walk("a", to=-1.0)
        host.run(3000)
        names = host.event_names()
        assert sorted(names[:2]) == ["compartment_occupied", "entry_passage"]
        assert "entry_retreat" in names and names[-1] == "compartment_empty"

    def test_one_traveller_is_never_more_than_one(self, host: RawHost) -> None:
        admit(host)
        host.sim.walk("a", to=1.8, speed=0.7)
        host.run(5000)
        assert "more_than_one" not in host.event_names()


class TestMoreThanOne:
    def test_a_tailgater_close_behind_raises_the_event(self, host: RawHost) -> None:
        admit(host)
        host.sim.walk("a", to=1.5)
        host.sim.place("b", -1.35)  # right behind, touching
        host.sim.walk("b", to=1.1)
        host.run(3000)
        (event,) = [e for e in host.events if e.code == P.EV_MORE_THAN_ONE]
        assert event.detail >= 2

    def test_two_people_standing_apart_raise_the_event(self, host: RawHost) -> None:
        host.sim.place("a", 0.5)
        host.sim.place("b", 1.5)
        host.run(500)
        assert "more_than_one" in host.event_names()

    def test_the_pattern_must_last_before_it_counts(self, sim: DoorSim) -> None:
        host = RawHost(sim)
        host.hello()
        sim.place("a", 0.5)
        sim.place("b", 1.5)
        host.run(sim.cfg.MULTI_PERSON_MS - 100)
        sim.remove("b")
        host.run(1000)
        assert "more_than_one" not in host.event_names()


class TestObjects:
    def test_an_object_left_behind_is_reported_then_its_removal(self, host: RawHost) -> None:
        host.sim.drop_object("bag", 1.1)
        host.run(host.sim.cfg.OBJECT_LEFT_MS + 200)
        assert "object_left" in host.event_names()
        assert "compartment_occupied" not in host.event_names()  # luggage is not a person
        host.sim.pick_up("bag")
        host.run(500)
        assert host.event_names()[-1] == "object_removed"

    def test_a_traveller_standing_on_the_floor_beams_is_not_an_object(self, host: RawHost) -> None:
        host.sim.place("a", 1.1)
        host.run(3000)
        assert "object_left" not in host.event_names()


class TestPatterns:
    def test_people_in_a_body_beam_pattern(self) -> None:
        assert people_in_pattern(0b00000000, 8, 2) == 0
        assert people_in_pattern(0b00000110, 8, 2) == 1
        assert people_in_pattern(0b01000010, 8, 2) == 2  # two separate groups
        assert people_in_pattern(0b00001110, 8, 2) == 2  # too long for one body
        assert people_in_pattern(0b11111111, 8, 2) == 4

    def test_beam_pair_direction(self) -> None:
        pair = BeamPair()
        steps = [(1, 0), (1, 1), (0, 1), (0, 0)]
        assert [pair.update(*s) for s in steps][-1] == 1  # outer first, inner last: inward
        assert [pair.update(*s) for s in [(0, 1), (1, 1), (1, 0), (0, 0)]][-1] == -1
        assert [pair.update(*s) for s in [(1, 0), (1, 1), (1, 0), (0, 0)]][-1] == 0  # stepped in and back
