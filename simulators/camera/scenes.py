"""Scripted camera scenes: what the gate's camera would see, rendered from real face photographs.

A scene is a pure function of time since it began (and its seed): `frame(t)` returns a BGR image, or None
while the camera is stalled. Scenarios:
  genuine   the chip holder, from another photo of them where one exists; head moving a little (position,
            scale, roll and a non-rigid yaw that moves the nose against the eyes), blinking, lighting drift,
            sensor noise, occasional motion blur
  impostor  someone else, rendered the same way (the portrait stays the chip holder's)
  no_face   the empty compartment
  two_people the traveller and a second person behind them
  print     a printed photo of the chip holder held up to the camera: the chip portrait with a halftone
            screen, paper's low contrast and a white margin, moving rigidly as a hand holds it, never blinking
  stall     genuine frames for `stall_after_s`, then nothing (a camera that stops delivering)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from simulators.camera import library

SCENARIOS = ("genuine", "impostor", "no_face", "two_people", "print", "stall")


@dataclass(frozen=True)
class ScenarioSpec:
    name: str = "no_face"
    person: str = "obama"  # the chip holder
    other: str = ""  # impostor / second person; default: the next person in the library
    seed: int = 1
    stall_after_s: float = 0.5

    def __post_init__(self) -> None:
        if self.name not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.name!r}; one of {', '.join(SCENARIOS)}")
        library.photos_of(self.person)  # raises KeyError for an unknown person
        if self.other:
            library.photos_of(self.other)

    def other_person(self) -> str:
        if self.other:
            return self.other
        everyone = library.people()
        return everyone[(everyone.index(self.person) + 1) % len(everyone)]


class Scene:
    def __init__(self, spec: ScenarioSpec, size: tuple[int, int] = (640, 480)) -> None:
        self.spec = spec
        self.width, self.height = size
        rng = np.random.default_rng(spec.seed)
        self.rng_seed = spec.seed
        self.background = _background(self.width, self.height, rng)
        self.phase = rng.uniform(0, 2 * math.pi, size=8)
        self.noise = [rng.normal(0, 2.5, (self.height, self.width, 3)).astype(np.float32) for _ in range(7)]
        self._print_card = _printed_card(library.portrait(spec.person)) if spec.name == "print" else None

    def frame(self, t: float) -> np.ndarray | None:
        name = self.spec.name
        if name == "stall" and t >= self.spec.stall_after_s:
            return None
        canvas = self.background.astype(np.float32) * self._light(t)
        if name in ("genuine", "stall"):
            canvas = self._live_person(canvas, self.spec.person, t, centre=(0.5, 0.48), face_width=170)
        elif name == "impostor":
            canvas = self._live_person(canvas, self.spec.other_person(), t, centre=(0.5, 0.48), face_width=170)
        elif name == "two_people":
            canvas = self._live_person(canvas, self.spec.other_person(), t + 3.3, centre=(0.75, 0.42), face_width=110)
            canvas = self._live_person(canvas, self.spec.person, t, centre=(0.36, 0.5), face_width=150)
        elif name == "print":
            canvas = self._held_print(canvas, t)
        return self._sensor(canvas, t)

    # --- the pieces ------------------------------------------------------------------------------------

    def _light(self, t: float) -> float:
        return 0.92 + 0.08 * math.sin(0.7 * t + self.phase[0])

    def _live_person(
        self, canvas: np.ndarray, person: str, t: float, centre: tuple[float, float], face_width: float
    ) -> np.ndarray:
        photos = library.live_photos(person)
        photo = photos[int(t / 2.0) % len(photos)]  # another moment every 2 s
        assert photo.box is not None and photo.landmarks is not None
        p = self.phase
        scale = face_width * (1 + 0.05 * math.sin(0.9 * t + p[1])) / photo.box[2]
        roll = math.radians(3.5 * math.sin(0.6 * t + p[2]))
        shift = (14 * math.sin(0.8 * t + p[3]), 8 * math.sin(1.1 * t + p[4]))
        face_centre = photo.landmarks[:3].mean(axis=0)
        target = (centre[0] * self.width + shift[0], centre[1] * self.height + shift[1])
        matrix = _similarity(face_centre, target, scale, roll)
        person_layer, mask = _warp_with_mask(photo, matrix, (self.width, self.height))
        nose = matrix @ np.append(photo.landmarks[2], 1.0)
        eye_distance = float(np.linalg.norm(photo.landmarks[1] - photo.landmarks[0])) * scale
        yaw = 0.16 * eye_distance * math.sin(1.3 * t + p[5])  # nose moves further than the eyes: parallax
        person_layer, mask = _parallax(person_layer, mask, nose, eye_distance, yaw)
        if _blinking(t, p[6]):
            eyes = (matrix @ np.c_[photo.landmarks[:2], np.ones(2)].T).T
            _close_eyes(person_layer, eyes, eye_distance)
        return canvas * (1 - mask[..., None]) + person_layer.astype(np.float32) * mask[..., None]

    def _held_print(self, canvas: np.ndarray, t: float) -> np.ndarray:
        card = self._print_card
        assert card is not None
        h, w = card.shape[:2]
        p = self.phase
        scale = 0.62 * (1 + 0.04 * math.sin(0.9 * t + p[1]))
        angle = math.radians(4 * math.sin(0.7 * t + p[2]))
        tilt = 0.00012 * math.sin(1.2 * t + p[3])  # the hand tilts the card: a little perspective
        target = (0.5 * self.width + 20 * math.sin(0.8 * t + p[4]), 0.5 * self.height + 10 * math.sin(t + p[5]))
        affine = _similarity((w / 2, h / 2), target, scale, angle)
        homography = np.vstack([affine, [tilt, 0.5 * tilt, 1.0]])
        size = (self.width, self.height)
        warped = cv2.warpPerspective(card, homography, size, flags=cv2.INTER_AREA)
        mask = cv2.warpPerspective(np.ones((h, w), np.float32), homography, size, flags=cv2.INTER_LINEAR)
        return canvas * (1 - mask[..., None]) + warped.astype(np.float32) * mask[..., None]

    def _sensor(self, canvas: np.ndarray, t: float) -> np.ndarray:
        if math.sin(2.1 * t + self.phase[7]) > 0.97:  # now and then the traveller moves fast
            canvas = cv2.blur(canvas, (5, 1))
        canvas += self.noise[int(t * 1000) % len(self.noise)]  # sensor noise, from a small bank
        return np.clip(canvas, 0, 255).astype(np.uint8)


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A compartment wall: a lit gradient, a door frame and a panel, in muted colours."""
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    base = rng.uniform(120, 190, size=3).astype(np.float32)
    image = base * (0.75 + 0.35 * (1 - ys)) * (0.9 + 0.1 * xs)
    image = np.broadcast_to(image, (height, width, 3)).copy()
    colour = tuple(float(c) for c in rng.uniform(60, 140, size=3))
    cv2.rectangle(image, (int(0.06 * width), int(0.1 * height)), (int(0.2 * width), height), colour, -1)
    cv2.rectangle(image, (int(0.82 * width), int(0.3 * height)), (int(0.95 * width), int(0.55 * height)), colour, 4)
    return np.clip(image, 0, 255).astype(np.uint8)


def _similarity(source: tuple[float, float] | np.ndarray, target: tuple[float, float], scale: float, angle: float):
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    sx, sy = float(source[0]), float(source[1])
    return np.array([[c, -s, target[0] - (c * sx - s * sy)], [s, c, target[1] - (s * sx + c * sy)]])


@lru_cache(maxsize=16)
def _working_copy(photo: library.Photo) -> tuple[np.ndarray, np.ndarray, float]:
    """The photo scaled so its face is ~220 px wide (rendering cost), its head-and-shoulders mask, the scale."""
    assert photo.box is not None
    factor = min(1.0, 220 / photo.box[2])
    image = cv2.resize(photo.load(), None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    box = tuple(int(v * factor) for v in photo.box)
    return image, _head_mask(image.shape[:2], box), factor  # type: ignore[arg-type]


def _warp_with_mask(photo: library.Photo, matrix: np.ndarray, size: tuple[int, int]):
    """The head and shoulders of the photo placed by `matrix` (in the photo's own pixels), soft-edged."""
    image, mask, factor = _working_copy(photo)
    scaled = matrix.copy()
    scaled[:, :2] /= factor
    layer = cv2.warpAffine(image, scaled, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return layer, cv2.warpAffine(mask, scaled, size, flags=cv2.INTER_LINEAR)


def _head_mask(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """Soft-edged head and shoulders: the live person without their photo's rectangle."""
    x, y, w, h = box
    mask = np.zeros(shape, np.float32)
    centre = (int(x + w / 2), int(y + h * 0.55))
    cv2.ellipse(mask, centre, (int(w * 0.8), int(h * 0.85)), 0, 0, 360, 1.0, -1)
    cv2.rectangle(mask, (int(x - w * 0.7), int(y + h * 1.05)), (int(x + w * 1.7), shape[0]), 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), max(2.0, w * 0.05))


def _parallax(layer: np.ndarray, mask: np.ndarray, nose: np.ndarray, eye_distance: float, shift: float):
    """Turn the head a little: pixels near the nose move by `shift`, the face's rim hardly at all."""
    height, width = mask.shape
    sigma = 0.45 * eye_distance  # the nose tip stands out of the face; the eyes and mouth much less
    reach = int(3 * sigma)  # beyond 3 sigma nothing moves: warp only the window around the nose
    x0, x1 = max(0, int(nose[0]) - reach), min(width, int(nose[0]) + reach)
    y0, y1 = max(0, int(nose[1]) - reach), min(height, int(nose[1]) + reach)
    if x1 <= x0 or y1 <= y0:
        return layer, mask
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    weight = np.exp(-((xs - nose[0]) ** 2 + (ys - nose[1]) ** 2) / (2 * sigma**2))
    map_x = (xs - shift * weight).astype(np.float32)
    layer, mask = layer.copy(), mask.copy()
    layer[y0:y1, x0:x1] = cv2.remap(layer, map_x, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask[y0:y1, x0:x1] = cv2.remap(mask, map_x, ys, cv2.INTER_LINEAR)
    return layer, mask


def _blinking(t: float, phase: float) -> bool:
    """A blink of ~150 ms about every 1.7 s."""
    return ((t + phase) % 1.7) < 0.15


def _close_eyes(layer: np.ndarray, eyes: np.ndarray, eye_distance: float) -> None:
    """Draw eyelids: cover each eye with the colour of the skin above it (the brow-to-lid area), softly."""
    axes = (int(0.26 * eye_distance), int(0.12 * eye_distance))
    for ex, ey in eyes:
        top = int(ey - 0.28 * eye_distance)
        patch = layer[max(0, top - 2) : max(1, top + 3), max(0, int(ex) - 3) : int(ex) + 4]
        skin = tuple(float(c) for c in patch.reshape(-1, 3).mean(axis=0)) if patch.size else (150.0, 150.0, 150.0)
        lid = np.zeros(layer.shape[:2], np.float32)
        cv2.ellipse(lid, (int(ex), int(ey)), axes, 0, 0, 360, 1.0, -1, lineType=cv2.LINE_AA)
        lid = cv2.GaussianBlur(lid, (0, 0), 1.5)[..., None]
        layer[:] = (layer * (1 - lid) + np.array(skin, np.float32) * lid).astype(layer.dtype)


def _printed_card(portrait: np.ndarray) -> np.ndarray:
    """The portrait as an office print: an amplitude-modulated halftone (ink dots on a 45-degree screen,
    each dot as large as the tone needs), ink spread, paper's low contrast, paler colours, a white margin."""
    image = portrait.astype(np.float32)
    grey = image.mean(axis=2, keepdims=True)
    image = (grey + 0.75 * (image - grey)) / 255  # prints are less saturated
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    period = 4.0
    u, v = (xs + ys) / math.sqrt(2), (xs - ys) / math.sqrt(2)
    screen = 0.5 + 0.25 * (np.cos(2 * np.pi * u / period) + np.cos(2 * np.pi * v / period))
    ink = (image < screen[..., None]).astype(np.float32)  # 1 where the printer puts ink
    ink = cv2.GaussianBlur(ink, (0, 0), 0.6)  # ink spreads into the paper
    paper, darkest = 236.0, 30.0
    printed = paper - ink * (paper - darkest) * (1 - 0.6 * image)  # coloured inks are not black
    margin = 36
    card = np.full((h + 2 * margin, w + 2 * margin, 3), paper, np.float32)
    card[margin : margin + h, margin : margin + w] = printed
    return np.clip(card, 0, 255).astype(np.uint8)
