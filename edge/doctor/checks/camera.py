"""The camera opens and delivers frames. The frames are left in ctx.shared["camera.frames"] for checks that
look at them (the face area's "a face is detected" check runs after this one)."""

from __future__ import annotations

import contextlib
import os
import time

from edge.doctor.framework import DoctorContext, Result, check

FRAMES_WANTED = 5


def open_capture(source: str):
    """cv2.VideoCapture for a device path, a camera index ("0") or a stream URL."""
    import cv2

    with contextlib.suppress(AttributeError):  # OpenCV's own warnings would repeat what the check says
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    target: str | int = int(source) if source.isdigit() else source
    if isinstance(target, str) and target.startswith("/dev/video"):
        return cv2.VideoCapture(target, cv2.CAP_V4L2)
    return cv2.VideoCapture(target)


@check("camera", title="camera opens and delivers frames")
def camera(ctx: DoctorContext) -> Result:
    try:
        import cv2  # noqa: F401
    except ImportError as exc:
        return Result.fail(f"OpenCV is not installed: {exc}", "reinstall echannel (opencv is a dependency)")
    settings = ctx.config.face
    source = settings.camera
    fix = (f"check that {source} exists and that the echannel user is in the 'video' group; "
           "`v4l2-ctl --list-devices` lists cameras" if source.startswith("/dev/") else
           f"check that the stream {source} is up")
    if source.startswith("/dev/") and not os.path.exists(source):
        return Result.fail(f"{source}: no such device", fix)
    capture = open_capture(source)
    try:
        if not capture.isOpened():
            return Result.fail(f"{source}: cannot open", fix)
        frames = []
        deadline = time.monotonic() + ctx.timeout_s
        while len(frames) < FRAMES_WANTED and time.monotonic() < deadline:
            ok, frame = capture.read()
            if ok and frame is not None:
                frames.append(frame)
        if not frames:
            return Result.fail(f"{source}: opens but delivered no frame within {ctx.timeout_s:g} s", fix)
        height, width = frames[0].shape[:2]
        ctx.shared["camera.frames"] = frames  # images stay in memory, never written or logged
        message = f"{source}: {len(frames)} frame(s) of {width}x{height}"
        if (width, height) != (settings.width, settings.height):
            return Result.warn(message + f", configured {settings.width}x{settings.height}",
                               "set face.width/face.height to what the camera delivers", width=width, height=height)
        return Result.ok(message, width=width, height=height)
    finally:
        capture.release()
