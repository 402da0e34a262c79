"""`echannel doctor`: on-site checks of a gate unit, each with a verdict, a message and the fix.

A check is a small function registered under a name; other areas add theirs the same way:

    from edge.doctor import Result, check

    @check("face", title="camera sees a face", after="camera")
    def face_detected(ctx):
        frames = ctx.shared.get("camera.frames")       # what the camera check grabbed, if it passed
        if not frames:
            return Result.skip("no frames (see the camera check)")
        ...
        return Result.ok("a face in 5 of 5 frames")

in a module named `edge/<area>/doctor_checks.py` (see AREA_CHECK_MODULES: imported when it exists). The
camera check leaves the frames it grabbed in ctx.shared["camera.frames"] for exactly that.
"""

from edge.doctor.framework import (
    AREA_CHECK_MODULES,
    CHECK_MODULES,
    Check,
    DoctorContext,
    Result,
    Status,
    check,
    registered_checks,
    run_checks,
)

__all__ = [
    "AREA_CHECK_MODULES",
    "CHECK_MODULES",
    "Check",
    "DoctorContext",
    "Result",
    "Status",
    "check",
    "registered_checks",
    "run_checks",
]
