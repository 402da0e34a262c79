"""Turn whatever a camera or a chip hands us into a BGR uint8 image, or say clearly why not.

Chip portraits arrive as arrays or encoded bytes (JPEG; JPEG 2000 where OpenCV has it); camera frames as
arrays. Greyscale, alpha and 16-bit or float images are converted; empty, undecodable, absurdly large or
malformed inputs raise BadImage with a reason code (never personal data).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

MAX_PIXELS = 50_000_000  # beyond this an input is a fault, not a photo: refuse before touching it
MIN_SIDE = 16


class BadImage(ValueError):
    """The input is not a usable image; `reason` is a short code for records and logs."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def to_bgr(image: Any) -> np.ndarray:
    """Return a contiguous HxWx3 uint8 BGR copy-or-view of `image`, or raise BadImage."""
    if image is None:
        raise BadImage("empty_image", "no image")
    if isinstance(image, bytes | bytearray | memoryview):
        image = decode(bytes(image))
    if not isinstance(image, np.ndarray):
        raise BadImage("bad_image", f"expected an array or encoded bytes, got {type(image).__name__}")
    if image.size == 0:
        raise BadImage("empty_image", "zero pixels")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise BadImage("bad_image", f"unsupported shape {image.shape}")
    height, width = image.shape[:2]
    if height * width > MAX_PIXELS:
        raise BadImage("image_too_large", f"{width}x{height}")
    if min(height, width) < MIN_SIDE:
        raise BadImage("image_too_small", f"{width}x{height}")
    image = _to_uint8(image)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


def decode(data: bytes) -> np.ndarray:
    if not data:
        raise BadImage("empty_image", "zero bytes")
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise BadImage("undecodable_image", str(exc).strip().splitlines()[-1]) from None
    if image is None:
        raise BadImage("undecodable_image", f"{len(data)} bytes OpenCV cannot decode")
    return image


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        finite = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        top = 1.0 if finite.max(initial=0.0) <= 1.0 else 255.0  # 0..1 floats are common
        return np.clip(finite * (255.0 / top), 0, 255).astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer) or image.dtype == np.bool_:
        return np.clip(image, 0, 255).astype(np.uint8)
    raise BadImage("bad_image", f"unsupported pixel type {image.dtype}")
