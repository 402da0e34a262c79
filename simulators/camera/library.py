"""The real face photographs the simulator draws travellers from (simulators/camera/faces.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

MANIFEST = Path(__file__).resolve().parent / "faces.toml"


class MissingFaces(RuntimeError):
    pass


@dataclass(frozen=True)
class Photo:
    file: Path
    person: str
    faces: int
    box: tuple[int, int, int, int] | None  # x, y, w, h of the face
    landmarks: np.ndarray | None = field(default=None, repr=False, compare=False)  # (5, 2)

    def load(self) -> np.ndarray:
        return _load(str(self.file))


@lru_cache(maxsize=16)
def _load(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise MissingFaces(f"{path}: missing or unreadable; run `bash .ci/setup` (models/fetch.py fetches it)")
    image.setflags(write=False)
    return image


@lru_cache(maxsize=1)
def photos() -> tuple[Photo, ...]:
    raw = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    folder = MANIFEST.parent / raw["folder"]
    return tuple(
        Photo(
            file=folder / item["file"],
            person=item["person"],
            faces=int(item["faces"]),
            box=tuple(item["face"]) if "face" in item else None,  # type: ignore[arg-type]
            landmarks=np.array(item["landmarks"], dtype=np.float32) if "landmarks" in item else None,
        )
        for item in raw["image"]
    )


def people() -> list[str]:
    """People with at least one single-face photo, in manifest order."""
    seen: list[str] = []
    for photo in photos():
        if photo.person and photo.faces == 1 and photo.person not in seen:
            seen.append(photo.person)
    return seen


def photos_of(person: str) -> list[Photo]:
    found = [p for p in photos() if p.person == person and p.faces == 1]
    if not found:
        raise KeyError(f"no photo of {person!r}; known: {', '.join(people())}")
    return found


def group_photo() -> Photo:
    return next(p for p in photos() if p.faces > 1)


def portrait_photo(person: str) -> Photo:
    """The photo that plays the chip portrait: the person's first photo."""
    return photos_of(person)[0]


def live_photos(person: str) -> list[Photo]:
    """Photos for the live frames: other photos of the person where they exist, else the portrait's."""
    found = photos_of(person)
    return found[1:] or found[:1]


def portrait(person: str, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A chip-like portrait (ICAO head-and-shoulders, 3:4, face ~55% of the height) as BGR."""
    photo = portrait_photo(person)
    assert photo.box is not None
    x, y, w, h = photo.box
    out_w, out_h = size
    crop_h = h / 0.55
    crop_w = crop_h * out_w / out_h
    cx, cy = x + w / 2, y + h * 0.45
    matrix = np.array(
        [[out_w / crop_w, 0, out_w / 2 - cx * out_w / crop_w], [0, out_h / crop_h, out_h / 2 - cy * out_h / crop_h]]
    )
    return cv2.warpAffine(photo.load(), matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
