"""The face models are present and are the ones their manifests describe.

A manifest `models/*.toml` names its model with `file`, and pins it either by `sha256` (of the file) or by
an output check (`[check]`, the face area's `edge.biometrics.models`: the repaired models' outputs on a fixed
probe input must match the recorded fingerprint). The output check tells a wrong or badly damaged model, not
every changed byte (most single-bit flips in a weight move the outputs less than its tolerance), so the
digest `models/fetch.py` records next to each model it has verified (`<file>.sha256`) is compared as well.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from edge.doctor.framework import DoctorContext, Result, check

FETCH_FIX = (
    "restore the models: in the source tree run `.venv/bin/python models/fetch.py --force`, then "
    "`systemd/install.sh --upgrade` (it copies models/ to /opt/echannel/models)"
)


@check("models", title="model files present with the right content")
def models(ctx: DoctorContext) -> Result:
    directory = ctx.path(ctx.config.face.models_dir)
    if not directory.is_dir():
        return Result.fail(f"the models directory {directory} does not exist", f"set face.models_dir; {FETCH_FIX}")
    manifests = sorted(directory.glob("*.toml"))
    problems, passed, unpinned = [], [], []
    for manifest_file in manifests:
        try:
            manifest = tomllib.loads(manifest_file.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{manifest_file.name}: unreadable manifest: {exc}")
            continue
        if "file" not in manifest:
            continue  # not a model manifest
        problem = _check_model(manifest_file, manifest)
        if problem:
            problems.append(problem)
        else:
            recorded = _recorded_digest(manifest_file.parent / manifest["file"]) is not None
            passed.append(manifest["file"] + (" (sha256 and outputs)" if recorded else ""))
            if not recorded and "sha256" not in manifest:
                unpinned.append(manifest["file"])
    if not problems and not passed:
        return Result.skip(f"no model manifest (a *.toml naming a `file`) in {directory} yet")
    if problems:
        return Result.fail("; ".join(problems), FETCH_FIX, problems=problems, passed=passed)
    message = f"{len(passed)} model(s) verified: {', '.join(passed)}"
    if unpinned:
        return Result.warn(
            message + f"; no recorded sha256 for {', '.join(unpinned)}: a small change to the file could go unseen",
            "run `.venv/bin/python models/fetch.py` in the source tree (it records `<file>.sha256` for each model "
            "that passes its output check), then `systemd/install.sh --upgrade`",
            models=passed,
        )
    return Result.ok(message, models=passed)


def _check_model(manifest_file: Path, manifest: dict) -> str:
    model = manifest_file.parent / manifest["file"]
    if not model.is_file():
        return f"{manifest['file']}: missing"
    recorded = _recorded_digest(model)
    if recorded is not None:
        digest = _sha256(model)
        if digest != recorded:
            return (f"{manifest['file']}: altered or damaged (sha256 {digest[:12]}…, "
                    f"{model.name}.sha256 records {recorded[:12]}…)")
    if "sha256" in manifest:
        digest = _sha256(model)
        if digest != manifest["sha256"]:
            return f"{manifest['file']}: sha256 {digest[:12]}… is not the manifest's {manifest['sha256'][:12]}…"
        return ""
    if "check" in manifest:
        return _output_check(manifest_file)
    return f"{manifest_file.name}: neither sha256 nor [check] to verify {manifest['file']} by"


def _output_check(manifest_file: Path) -> str:
    try:
        from edge.biometrics.models import ModelError, load_manifest, open_session
    except ImportError:
        return f"{manifest_file.name}: output check needs edge.biometrics.models, which is not installed"
    try:
        open_session(load_manifest(manifest_file.stem, manifest_file.parent))  # runs the [check] probe
    except ModelError as exc:
        return f"{manifest_file.stem}: {exc}"
    return ""


def _recorded_digest(model: Path) -> str | None:
    """The digest models/fetch.py wrote when it verified the model (sha256sum format), if any."""
    try:
        return model.with_name(model.name + ".sha256").read_text().split()[0].lower()
    except (OSError, IndexError):
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
