"""The 68-point (iBUG 300-W / dlib) landmark view.

Indices are 0-based, in the image's own left-right sense as dlib numbers them:
the jaw runs 0..16 from the image's left to its right, so the first brow and eye
(17..21, 36..41) lie on the image's left, i.e. the subject's right.

MER code (MDMO, RoI methods, FDP's alignment) is written for these 68 points. A
detector with more points is mapped by an index table: `MEDIAPIPE_TO_IBUG68`
gives, for each of the 68, the MediaPipe face-mesh vertex (of 468) used for it.
How the table was made (docs/faces.md): for each of the 68 points, the mesh vertex
nearest to dlib's point, averaged over skimage's astronaut photograph, its mirror
image, two rotations (+-15 degrees) and two scalings (0.7, 1.3), distances in
inter-ocular units; then the eye corners (36, 39, 42, 45) and mouth corners (48,
54, 60, 64) were set to the mesh's own corner vertices (33, 133, 362, 263; 61,
291, 78, 308), each within 0.04 inter-ocular distances of the nearest vertex.
"""

from __future__ import annotations

import numpy as np

from merjax.errors import MerjaxError

# Named groups of the 68 (0-based, inclusive ranges as index tuples).
JAW = tuple(range(0, 17))
RIGHT_BROW = tuple(range(17, 22))      # the subject's right = the image's left
LEFT_BROW = tuple(range(22, 27))
NOSE_BRIDGE = tuple(range(27, 31))
NOSE_LOWER = tuple(range(31, 36))
NOSE = NOSE_BRIDGE + NOSE_LOWER
RIGHT_EYE = tuple(range(36, 42))
LEFT_EYE = tuple(range(42, 48))
OUTER_MOUTH = tuple(range(48, 60))
INNER_MOUTH = tuple(range(60, 68))
MOUTH = OUTER_MOUTH + INNER_MOUTH
NOSE_TIP = 30
MOUTH_CORNERS = (48, 54)
CHIN = 8

GROUPS = {"jaw": JAW, "right_brow": RIGHT_BROW, "left_brow": LEFT_BROW, "nose": NOSE,
          "right_eye": RIGHT_EYE, "left_eye": LEFT_EYE, "mouth": MOUTH}

# For each iBUG point 0..67, the MediaPipe face-mesh vertex (0..467) standing for it.
MEDIAPIPE_TO_IBUG68 = (
    # jaw 0..16
    34, 137, 177, 58, 172, 150, 149, 148, 152, 377, 378, 379, 397, 288, 376, 447, 356,
    # right brow 17..21, left brow 22..26
    156, 63, 105, 65, 55, 285, 295, 282, 293, 300,
    # nose bridge 27..30, lower nose 31..35
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    # right eye 36..41, left eye 42..47
    33, 160, 158, 133, 145, 144, 362, 385, 386, 263, 373, 380,
    # outer mouth 48..59
    61, 74, 37, 0, 267, 269, 291, 321, 314, 17, 84, 106,
    # inner mouth 60..67
    78, 38, 12, 268, 308, 317, 15, 86,
)
assert len(MEDIAPIPE_TO_IBUG68) == 68

# Number of native points -> table into them (68: identity).
_TABLES = {68: None, 468: MEDIAPIPE_TO_IBUG68, 478: MEDIAPIPE_TO_IBUG68}


def to_ibug68(landmarks_Px2) -> np.ndarray:
  """The 68-point view of a detector's landmarks: float32 68 x 2 (x, y pixels).

  P = 68 (dlib) is returned as is; P = 468 / 478 (MediaPipe face mesh, with or
  without the iris points) goes through MEDIAPIPE_TO_IBUG68.
  """
  pts = np.asarray(landmarks_Px2, np.float32)
  if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] not in _TABLES:
    raise MerjaxError(f"landmarks: shape {pts.shape} is not P x 2 with P in "
                      f"{sorted(_TABLES)}")
  table = _TABLES[pts.shape[0]]
  return pts if table is None else pts[list(table)]


def eye_centres(landmarks_68x2) -> tuple[np.ndarray, np.ndarray]:
  """(image-left eye centre, image-right eye centre): means of points 36..41 and
  42..47, each float64 (x, y)."""
  pts = np.asarray(landmarks_68x2, np.float64)
  return pts[list(RIGHT_EYE)].mean(0), pts[list(LEFT_EYE)].mean(0)


def interocular(landmarks_68x2) -> float:
  """Distance between the two eye centres, pixels."""
  a, b = eye_centres(landmarks_68x2)
  return float(np.linalg.norm(b - a))


def five_points(landmarks_68x2) -> np.ndarray:
  """FDP's five points: the two eye centres, the nose tip (30) and the mouth
  corners (48, 54), float64 5 x 2."""
  pts = np.asarray(landmarks_68x2, np.float64)
  a, b = eye_centres(pts)
  return np.stack([a, b, pts[NOSE_TIP], pts[MOUTH_CORNERS[0]], pts[MOUTH_CORNERS[1]]])
