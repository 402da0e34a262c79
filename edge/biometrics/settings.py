"""[face] section: camera, models, thresholds and capture limits."""

from __future__ import annotations

from dataclasses import dataclass

from edge.config.validate import setting


@dataclass(frozen=True)
class FaceSettings:
    camera: str = setting("/dev/video0", help="V4L2 device path, index or stream URL")
    width: int = setting(640, min=160, max=4096)
    height: int = setting(480, min=120, max=4096)
    fps: float = setting(15.0, min=1, max=120)
    models_dir: str = setting(
        "models", help="directory of the ONNX models and manifests", exists="dir", example="/opt/echannel/models"
    )
    threshold: float = setting(0.363, help="cosine similarity needed for a match (SFace)", min=-1, max=1)
    capture_timeout_s: float = setting(7.0, help="best frame decides after this long", min=0.5, max=10)
    pad_threshold: float = setting(0.5, help="PAD score above which the gate raises a PAD alarm", min=0, max=1)
    detection_size: int = setting(
        320,
        help="longer side in pixels of the image the face detector sees (rounded up to a multiple of 32); "
        "faces under about 10 px at that scale are missed, and the cost grows with its square",
        min=160,
        max=1280,
    )
    threads: int = setting(2, help="onnxruntime intra-op threads", min=1, max=16)
    providers: list[str] = setting(
        default_factory=lambda: ["CPUExecutionProvider"], help="onnxruntime execution providers, in order"
    )
    pad: str = setting(
        "baseline", help="presentation attack detector: multi-frame RGB baseline, or none", choices=("baseline", "none")
    )
    max_comparisons: int = setting(5, help="comparisons per capture (each is a chance for an impostor)", min=1, max=50)
    stall_timeout_s: float = setting(2.0, help="no camera frame for this long: stalled, reopen it", min=0.2, max=60)
    max_frame_age_s: float = setting(0.5, help="older frames are never processed", min=0.05, max=5)
