"""The unit files load cleanly in systemd and keep their security exposure at or below 2.5 ("OK")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deploy.unit_files import UNITS, exec_paths, security, verify, verify_root

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")

EXPOSURE_GOAL = 2.5


def test_there_is_a_daemon_unit():
    assert "echannel.service" in [u.name for u in UNITS]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_verifies_without_a_single_complaint(unit: Path, tmp_path: Path):
    root = verify_root(tmp_path, UNITS)
    result = verify(root, unit.name)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", f"systemd-analyze verify complained:\n{result.stderr}"


def test_verify_would_catch_a_misspelt_key(tmp_path: Path):
    """Guards the check above: verify exits 0 on an unknown key but says so, and we look at what it says."""
    broken = tmp_path / "src/echannel.service"
    broken.parent.mkdir()
    text = (Path(UNITS[0]).parent / "echannel.service").read_text()
    broken.write_text(text.replace("ProtectClock=yes", "ProtectClok=yes").replace("Type=notify", "Type=notyfy"))
    result = verify(verify_root(tmp_path / "root", [broken]), broken.name)
    assert "Unknown key 'ProtectClok'" in result.stderr
    assert "Failed to parse service type" in result.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_exposure_is_at_most_the_goal(unit: Path):
    exposure, verdict, table = security(unit)
    print(f"\n{unit.name}: exposure {exposure} {verdict}")  # recorded in README "Deployment"
    assert exposure <= EXPOSURE_GOAL, table
    assert verdict == "OK", table


def test_daemon_unit_keeps_the_conventions():
    """What the daemon and the field engineer rely on (the design, not style)."""
    text = (UNITS[0].parent / "echannel.service").read_text()
    settings = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in text.splitlines() if "=" in line
                and not line.startswith("#")}
    assert settings["Type"] == "notify" and settings["NotifyAccess"] == "main"
    assert settings["WatchdogSec"] and settings["Restart"] == "on-failure"
    assert settings["User"] == "echannel" and "DynamicUser" not in settings
    assert set(settings["SupplementaryGroups"].split()) == {"dialout", "gpio", "video"}
    assert settings["StateDirectory"] == "echannel" and settings["ConfigurationDirectory"] == "echannel"
    assert settings["DevicePolicy"] == "closed"
    assert exec_paths(UNITS[0].parent / "echannel.service") == ["/opt/echannel/venv/bin/echannel"]
    assert "--config /etc/echannel/gate.toml" in settings["ExecStart"]
