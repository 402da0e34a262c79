"""`echannel sim doors` as a child process: it prints where it is, answers on its pty, obeys its control socket."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rig_serial_host import SerialHost

from firmware import protocol as P
from simulators.doors.control import RigControl, parse
from simulators.processes import ChildProcess, wait_until


def started(child: ChildProcess) -> dict:
    found: dict = {}

    def announced() -> bool:
        for line in child.log_tail(50).splitlines():
            if line.startswith("{") and "control_port" in line:
                found.update(json.loads(line))
                return True
        assert child.alive(), child.log_tail()
        return False

    wait_until(announced, timeout=15, what="echannel sim doors to announce its pty")
    return found


def test_the_simulator_process_serves_the_pty_and_the_control_socket(tmp_path: Path) -> None:
    link = tmp_path / "doors"
    echannel = str(Path(sys.executable).with_name("echannel"))
    with ChildProcess([echannel, "sim", "doors", "--link", str(link)], name="sim-doors", log_dir=tmp_path) as child:
        where = started(child)
        assert where["link"] == str(link) and Path(where["pty"]).exists()
        host = SerialHost(str(link))
        try:
            host.hello()
            with RigControl(where["control_port"]) as control:
                assert control.send("place a 0.6")["ok"]
                assert control.send("place b 1.4")["ok"]
                assert host.wait_event(P.EV_MORE_THAN_ONE).detail >= 2
                assert control.send("fire on")["ok"]
                host.wait_event(P.EV_FIRE_ON)
                status = control.send("status")["result"]
                assert status["fire"] and set(status["travellers"]) == {"a", "b"}
                answer = control.send("fly away")
                assert not answer["ok"] and "unknown command" in answer["error"]
        finally:
            host.close()
        assert child.stop() == 0
    assert not link.exists()


def test_control_commands_parse_or_say_what_is_wrong() -> None:
    assert parse("walk a 1.5") == ("walk", ("a", 1.5, 1.0))
    assert parse("obstruct exit on") == ("obstruct", (1, True))
    assert parse("power-loss 300") == ("power_loss", (300,))
    for bad, message in [("walk a", "usage"), ("obstruct door on", "usage"), ("fire maybe", "usage"), ("", "empty")]:
        try:
            parse(bad)
        except ValueError as error:
            assert message in str(error)
        else:
            raise AssertionError(f"{bad!r} was accepted")
