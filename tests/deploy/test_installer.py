"""systemd/install.sh in a throwaway root directory (--root): the same tree every time, upgrades and
uninstalls that keep the configuration and the outbox, and a layout the unit file agrees with.

What this proves: the files, modes, owners (numeric, from the root's own passwd/group written by
systemd-sysusers), unit enablement symlinks and byte code the installer produces, that it is idempotent and
free of the build path, and that the installed application imports and runs from /opt/echannel/venv.
What it cannot: apt-get (skipped with --root), a live systemd (daemon-reload, start, try-restart), udev
reloads, and dependency installation from an index (the test reuses the dev environment's site-packages
through --deps-from, which a real install replaces by pip installing the wheel's dependencies).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.deploy.unit_files import REPO, verify, verify_root

INSTALLER = REPO / "systemd" / "install.sh"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("systemd-sysusers") or not shutil.which("systemctl"),
    reason="needs root (file owners) plus systemd-sysusers and systemctl",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(REPO)],
        check=True, capture_output=True, timeout=120,
    )
    return next(out.glob("echannel-*.whl"))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "gate.example.toml"
    path.write_text('[gate]\nsite = "example-site"\ngate_id = "gate-01"\n')
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel, template) -> Path:
    """One installation shared by the tests that only look at it."""
    root = tmp_path_factory.mktemp("installed") / "root"
    install(root, wheel, template)
    return root


def install(root: Path, wheel: Path, template: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", str(INSTALLER), "--root", str(root), "--wheel", str(wheel), "--config-template", str(template),
         "--deps-from", sysconfig.get_paths()["purelib"], "--python", sys.executable, *extra],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path with its type, mode, owner and content hash (or link target); times left out."""
    tree = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        rel = str(path.relative_to(root))
        if stat.S_ISLNK(info.st_mode):
            tree[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(info.st_mode):
            tree[rel] = ("dir", stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            tree[rel] = ("file", stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, digest)
    return tree


def ids(root: Path, file: str, name: str) -> int:
    for line in (root / "etc" / file).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2])
    raise KeyError(name)


def test_installing_twice_gives_the_same_tree_and_so_does_another_root(tmp_path: Path, wheel, template):
    first, other = tmp_path / "a", tmp_path / "b"
    install(first, wheel, template)
    once = snapshot(first)
    install(first, wheel, template)
    assert snapshot(first) == once
    install(other, wheel, template)
    assert snapshot(other) == once  # nothing in the tree names the directory it was built in
    assert any(p.endswith(".pyc") for p in once)  # byte code is there, and identical (checked-hash, no times)


def test_layout_owners_and_modes(installed: Path, template):
    root = installed
    uid, gid = ids(root, "passwd", "echannel"), ids(root, "group", "echannel")
    groups = [line.split(":") for line in (root / "etc/group").read_text().splitlines()]
    members = {fields[0]: fields[3].split(",") for fields in groups}
    assert all("echannel" in members[g] for g in ("dialout", "gpio", "video"))

    def owner_mode(path: str) -> tuple[int, int, int]:
        info = (root / path).stat()
        return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)

    assert owner_mode("etc/echannel") == (0, gid, 0o750)
    assert owner_mode("etc/echannel/gate.toml") == (0, gid, 0o640)
    assert owner_mode("var/lib/echannel") == (uid, gid, 0o700)
    assert (root / "etc/systemd/system/multi-user.target.wants/echannel.service").is_symlink()
    assert (root / "etc/udev/rules.d/60-echannel-gpio.rules").is_file()
    assert (root / "etc/echannel/gate.toml").read_text() == template.read_text()


def test_the_installed_application_runs_from_its_own_environment(tmp_path: Path, installed: Path):
    root = installed
    python = root / "opt/echannel/venv/bin/python"
    # cwd elsewhere: `python -c` puts the current directory first on sys.path, which here is the source tree
    out = subprocess.run([str(python), "-c", "import edge, edge.cli; print(edge.__file__)"],
                         capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert out.startswith(str(root / "opt/echannel/venv/lib")), out  # not the source tree
    version = subprocess.run([str(python), "-m", "edge.cli", "version"], capture_output=True, text=True, check=True,
                             cwd=tmp_path)
    assert version.stdout.startswith("echannel ")
    assert (root / "opt/echannel/venv/bin/echannel").read_text().startswith("#!/opt/echannel/venv/bin/python\n")


def test_the_unit_verifies_against_the_installed_layout(tmp_path: Path, wheel, template):
    """ExecStart names /opt/echannel/venv/bin/echannel: the installer must put it exactly there."""
    root = tmp_path / "root"
    install(root, wheel, template)
    verify_root(root, [])  # adds the distribution's units only; the installed unit and program are real
    result = verify(root, "echannel.service")
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_upgrade_keeps_configuration_and_outbox_and_replaces_the_application(tmp_path: Path, wheel, template):
    root = tmp_path / "root"
    install(root, wheel, template)
    config = root / "etc/echannel/gate.toml"
    config.write_text(config.read_text() + "# edited on site\n")
    outbox = root / "var/lib/echannel/outbox.sqlite3"
    outbox.write_bytes(b"events not yet delivered")
    stray = Path(sysconfig.get_paths(vars={"base": str(root / "opt/echannel/venv")})["purelib"]) / "stray.py"
    stray.write_text("left over from the old version\n")

    result = install(root, wheel, template, "--upgrade")
    assert "keeping /etc/echannel/gate.toml" in result.stdout
    assert config.read_text().endswith("# edited on site\n")
    assert outbox.read_bytes() == b"events not yet delivered"
    assert not stray.exists()  # the environment is rebuilt, not patched


def test_upgrade_without_an_installation_refuses(tmp_path: Path, wheel, template):
    result = subprocess.run(["bash", str(INSTALLER), "--root", str(tmp_path), "--upgrade"],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "nothing to upgrade" in result.stderr


def test_uninstall_removes_application_and_units_but_keeps_configuration_outbox_and_user(
    tmp_path: Path, wheel, template
):
    root = tmp_path / "root"
    install(root, wheel, template)
    (root / "var/lib/echannel/outbox.sqlite3").write_bytes(b"events")
    result = subprocess.run(["bash", str(INSTALLER), "--root", str(root), "--uninstall"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not (root / "opt/echannel").exists()
    assert not (root / "etc/systemd/system/echannel.service").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/echannel.service").exists()
    assert (root / "etc/echannel/gate.toml").is_file()
    assert (root / "var/lib/echannel/outbox.sqlite3").read_bytes() == b"events"
    assert ids(root, "passwd", "echannel")

    install(root, wheel, template)  # and a reinstall picks everything up again
    assert (root / "var/lib/echannel/outbox.sqlite3").read_bytes() == b"events"


def test_a_failed_upgrade_leaves_the_installed_version_working(tmp_path: Path, wheel, template):
    root = tmp_path / "root"
    install(root, wheel, template)
    before = snapshot(root)
    broken = tmp_path / "broken" / wheel.name
    broken.parent.mkdir()
    broken.write_bytes(b"not a zip file")
    result = subprocess.run(
        ["bash", str(INSTALLER), "--root", str(root), "--upgrade", "--wheel", str(broken),
         "--deps-from", sysconfig.get_paths()["purelib"], "--python", sys.executable],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "zip" in result.stderr.lower() or "wheel" in result.stderr.lower(), result.stderr  # pip refused it
    assert snapshot(root) == before  # old environment in place, no venv.new left behind
