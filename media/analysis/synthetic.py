"""Synthetic front-view poses with chosen angles, for tests and demos of the rules."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from media.analysis.landmarks import LANDMARK_COUNT, Landmark, PoseResult

WIDTH, HEIGHT = 640, 720
_FLOOR = 640.0
_HALF_HIPS = 60.0
_HALF_STANCE = 100.0
_HALF_SHOULDERS = 65.0
_THIGH = _SHIN = 130.0
_TORSO = 180.0
_UPPER_ARM, _FOREARM = 100.0, 90.0


@dataclass(frozen=True, slots=True)
class Figure:
    """Joint angles (degrees) and offsets (pixels) of a standing person facing the camera."""

    knee_angle: float = 178.0
    knee_in: bool = False
    """Knees bend towards the midline (knee valgus) instead of over the toes."""
    heel_up: float = 0.0
    """How far the heels are lifted."""
    trunk_lean: float = 0.0
    """Trunk tilt from vertical, to the person's left."""
    left_abduction: float = 10.0
    right_abduction: float = 10.0
    elbow_angle: float = 178.0
    visibility: float = 0.95


def _v(x: float, y: float) -> np.ndarray:
    return np.array([x, y], dtype=np.float64)


def _unit(degrees: float) -> np.ndarray:
    """Direction pointing down, rotated outwards (towards +x) by ``degrees``."""
    radians = math.radians(degrees)
    return np.array([math.sin(radians), math.cos(radians)])


def _set(points: np.ndarray, landmark: Landmark, xy: np.ndarray) -> None:
    points[landmark, :2] = xy


def _hip_center(fig: Figure) -> np.ndarray:
    """Feet stay on the floor, so bending the knees lowers the hips."""
    reach = 2 * _THIGH * math.sin(math.radians(fig.knee_angle) / 2)
    spread = _HALF_STANCE - _HALF_HIPS
    return _v(320.0, _FLOOR - math.sqrt(reach**2 - spread**2))


def _legs(points: np.ndarray, fig: Figure) -> None:
    hips = _hip_center(fig)
    # Knees sit on the perpendicular bisector of hip-ankle, out (or in, for valgus).
    offset = _THIGH * math.cos(math.radians(fig.knee_angle) / 2) * (-1 if fig.knee_in else 1)
    for sign, hip, knee, ankle, heel, toe in (
        (
            1,
            Landmark.LEFT_HIP,
            Landmark.LEFT_KNEE,
            Landmark.LEFT_ANKLE,
            Landmark.LEFT_HEEL,
            Landmark.LEFT_FOOT_INDEX,
        ),
        (
            -1,
            Landmark.RIGHT_HIP,
            Landmark.RIGHT_KNEE,
            Landmark.RIGHT_ANKLE,
            Landmark.RIGHT_HEEL,
            Landmark.RIGHT_FOOT_INDEX,
        ),
    ):
        hip_xy = hips + _v(sign * _HALF_HIPS, 0.0)
        ankle_xy = _v(320.0 + sign * _HALF_STANCE, _FLOOR)
        along = ankle_xy - hip_xy
        outward = _v(along[1], -along[0]) * sign / float(np.linalg.norm(along))
        _set(points, hip, hip_xy)
        _set(points, knee, (hip_xy + ankle_xy) / 2 + offset * outward)
        _set(points, ankle, ankle_xy)
        _set(points, heel, ankle_xy + _v(0.0, 15.0 - fig.heel_up))
        _set(points, toe, ankle_xy + _v(sign * 25.0, 20.0))


def _upper_body(points: np.ndarray, fig: Figure) -> None:
    lean = math.radians(fig.trunk_lean)
    center = _hip_center(fig) + _TORSO * np.array([math.sin(lean), -math.cos(lean)])
    for sign, abduction, shoulder, elbow, wrist in (
        (1, fig.left_abduction, Landmark.LEFT_SHOULDER, Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST),
        (
            -1,
            fig.right_abduction,
            Landmark.RIGHT_SHOULDER,
            Landmark.RIGHT_ELBOW,
            Landmark.RIGHT_WRIST,
        ),
    ):
        shoulder_xy = center + _v(sign * _HALF_SHOULDERS, 0.0)
        # Abduction measured from the trunk, so a leaning trunk carries the arms along.
        arm = _unit(abduction - fig.trunk_lean * sign) * _v(sign, 1)
        elbow_xy = shoulder_xy + _UPPER_ARM * arm
        forearm = _unit(abduction - fig.trunk_lean * sign + (180.0 - fig.elbow_angle)) * _v(sign, 1)
        _set(points, shoulder, shoulder_xy)
        _set(points, elbow, elbow_xy)
        _set(points, wrist, elbow_xy + _FOREARM * forearm)
    head = center + _v(0.0, -60.0)
    for landmark in list(Landmark)[: Landmark.LEFT_SHOULDER]:
        _set(points, landmark, head)
    for sign, eye, ear in (
        (1, Landmark.LEFT_EYE, Landmark.LEFT_EAR),
        (-1, Landmark.RIGHT_EYE, Landmark.RIGHT_EAR),
    ):
        _set(points, eye, head + _v(sign * 12.0, -10.0))
        _set(points, ear, head + _v(sign * 25.0, -5.0))
    for hand in (Landmark.LEFT_PINKY, Landmark.LEFT_INDEX, Landmark.LEFT_THUMB):
        points[hand] = points[Landmark.LEFT_WRIST]
    for hand in (Landmark.RIGHT_PINKY, Landmark.RIGHT_INDEX, Landmark.RIGHT_THUMB):
        points[hand] = points[Landmark.RIGHT_WRIST]


def make_pose(fig: Figure) -> PoseResult:
    """Return the PoseResult of ``fig`` (world landmarks: the image ones in metres)."""
    points = np.zeros((LANDMARK_COUNT, 3))
    _legs(points, fig)
    _upper_body(points, fig)
    world = points.copy()
    world[:, :2] = (points[:, :2] - _hip_center(fig)) / 400.0
    visibility = np.full(LANDMARK_COUNT, fig.visibility)
    return PoseResult(points, visibility, world, WIDTH, HEIGHT)
