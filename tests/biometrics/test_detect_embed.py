"""Detection, alignment, embedding and comparison on real photographs."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from edge.biometrics.align import ARCFACE_TEMPLATE, align_face, similarity_transform
from edge.biometrics.match import cosine
from simulators.camera import library

SINGLES = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png"]
DEFAULT_THRESHOLD = 0.363  # models/sface.toml [defaults]


def embedding(name, photo, detector, embedder):
    image = photo(name)
    faces = detector.detect(image)
    assert len(faces) == 1, name
    return embedder.embed(align_face(image, faces[0].landmarks))


def test_each_single_portrait_has_exactly_one_face(photo, detector):
    for name in SINGLES:
        faces = detector.detect(photo(name))
        assert len(faces) == 1, name
        assert faces[0].score > 0.8


def test_the_group_photo_counts_six_faces(photo, detector):
    assert len(detector.detect(photo("group.jpg"))) == 6


@pytest.mark.parametrize("name", [*SINGLES, "group.jpg"])
def test_detections_agree_with_opencvs_own_facedetectoryn_within_a_pixel(name, photo, detector):
    blob, _scale = detector.prepare(photo(name))
    letterboxed = np.ascontiguousarray(blob[0].transpose(1, 2, 0)).astype(np.uint8)
    reference = cv2.FaceDetectorYN.create(
        str(library.MANIFEST.parents[2] / "models" / "yunet.onnx"), "", letterboxed.shape[1::-1], 0.8, 0.3, 5000
    )
    _, found = reference.detect(letterboxed)
    ours = detector.decode(detector.infer(blob), scale=1.0)
    assert found is not None and len(ours) == len(found)
    theirs = sorted(found, key=lambda row: -row[2] * row[3])
    for face, row in zip(ours, theirs, strict=True):
        assert np.abs(np.array(face.box) - row[:4]).max() <= 1.0
        assert np.abs(face.landmarks.ravel() - row[4:14]).max() <= 1.0
        assert abs(face.score - row[14]) < 1e-3


def test_genuine_pairs_match_and_impostor_pairs_do_not_at_the_default_threshold(photo, detector, embedder):
    people = {p.file.name: p.person for p in library.photos()}
    vectors = {name: embedding(name, photo, detector, embedder) for name in SINGLES}
    for a, b in itertools.combinations(SINGLES, 2):
        score = cosine(vectors[a], vectors[b])
        if people[a] == people[b]:
            assert score >= DEFAULT_THRESHOLD + 0.2, (a, b, score)  # with room to spare
        else:
            assert score < DEFAULT_THRESHOLD - 0.05, (a, b, score)


def test_embeddings_are_unit_vectors_and_stable_across_scale(photo, detector, embedder):
    image = photo("obama2.jpg")
    small = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    a = embedder.embed(align_face(image, detector.detect(image)[0].landmarks))
    b = embedder.embed(align_face(small, detector.detect(small)[0].landmarks))
    assert abs(np.linalg.norm(a) - 1) < 1e-5
    assert cosine(a, b) > 0.9


def test_alignment_puts_the_landmarks_on_the_template(photo, detector):
    face = detector.detect(photo("obama3.jpg"))[0]
    matrix = similarity_transform(face.landmarks, ARCFACE_TEMPLATE)
    placed = (matrix @ np.c_[face.landmarks, np.ones(5)].T).T
    assert np.abs(placed - ARCFACE_TEMPLATE).max() < 6  # 5 points, 4 degrees of freedom: a close fit
    assert align_face(photo("obama3.jpg"), face.landmarks).shape == (112, 112, 3)


def test_similarity_transform_recovers_a_known_rotation_scale_and_shift():
    angle, scale, shift = np.radians(20), 1.7, np.array([5.0, -3.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = ARCFACE_TEMPLATE
    target = source @ rotation.T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_the_detector_sees_the_image_at_its_own_aspect_ratio_and_the_detection_size(detector):
    assert detector.detection_size == 320 and detector.fixed_input is None  # models/yunet.toml, repaired input
    assert detector.input_size(640, 480) == (0.5, (320, 256))  # 240 rows padded to a multiple of 32
    assert detector.input_size(480, 640) == (0.5, (256, 320))
    blob, scale = detector.prepare(np.zeros((480, 640, 3), np.uint8))
    assert blob.shape == (1, 3, 256, 320) and scale == 0.5


def test_a_larger_detection_size_finds_the_same_faces_and_the_same_matches(photo, detector, embedder):
    from edge.biometrics.detect import FaceDetector

    large = FaceDetector.load(library.MANIFEST.parents[2] / "models", threads=2, detection_size=640)
    assert large.detection_size == 640
    for name in [*SINGLES, "group.jpg"]:
        assert len(large.detect(photo(name))) == len(detector.detect(photo(name))), name
    for a, b in itertools.combinations(SINGLES, 2):
        at_default = cosine(embedding(a, photo, detector, embedder), embedding(b, photo, detector, embedder))
        at_640 = cosine(embedding(a, photo, large, embedder), embedding(b, photo, large, embedder))
        assert abs(at_default - at_640) < 0.05, (a, b, at_default, at_640)
