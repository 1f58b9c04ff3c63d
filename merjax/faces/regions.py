"""Named facial regions from 68-point landmarks, as polygons, boxes or masks.

Regions (image-left = the subject's right, dlib's numbering, ibug68.py):
  right_brow / left_brow   points 17..21 / 22..26, box enlarged by `margin`
  right_eye / left_eye     36..41 / 42..47, box enlarged by `margin`
  nose                     27..35, box enlarged by `margin`
  mouth                    48..67, box enlarged by `margin`
  right_cheek / left_cheek polygon jaw 1..4 (12..15), mouth corner 48 (54),
                           nose wing 31 (35), lower eyelid 40, 41, 36 (47, 46, 45)
  chin                     polygon jaw 5..11 and the lower lip 54..59, 48
`margin` is a fraction of the inter-ocular distance added on every side of a
box region. `grid36` is a 6 x 6 grid over the landmarks' bounding square (a
stand-in for MDMO's 36 RoIs, whose landmark polygons are not reproduced here;
docs/faces.md). `dc_rois` gives D&C-RoIs' three RoIs from landmarks as the
fractions merjax.modalities.apex expects.
"""

from __future__ import annotations

import numpy as np

from merjax.faces import ibug68

BOX_REGIONS = {"right_brow": ibug68.RIGHT_BROW, "left_brow": ibug68.LEFT_BROW,
               "right_eye": ibug68.RIGHT_EYE, "left_eye": ibug68.LEFT_EYE,
               "nose": ibug68.NOSE, "mouth": ibug68.MOUTH}
POLYGON_REGIONS = {
    "right_cheek": (1, 2, 3, 4, 48, 31, 40, 41, 36),
    "left_cheek": (15, 14, 13, 12, 54, 35, 47, 46, 45),
    "chin": (5, 6, 7, 8, 9, 10, 11, 54, 55, 56, 57, 58, 59, 48),
}
REGIONS = tuple(BOX_REGIONS) + tuple(POLYGON_REGIONS)
# D&C-RoIs from landmarks (after a public re-implementation: eye + brow points and
# the mouth points, 18 % margin of each box's size): name -> points.
DC_ROI_POINTS = {"left_eye_brow": ibug68.RIGHT_BROW + ibug68.RIGHT_EYE,
                 "right_eye_brow": ibug68.LEFT_BROW + ibug68.LEFT_EYE,
                 "mouth": ibug68.MOUTH}


def _box(points_Px2, pad_x: float, pad_y: float) -> np.ndarray:
  lo, hi = points_Px2.min(0), points_Px2.max(0)
  return np.array([lo[0] - pad_x, lo[1] - pad_y, hi[0] + pad_x, hi[1] + pad_y])


def region_polygons(landmarks_68x2, margin: float = 0.1) -> dict[str, np.ndarray]:
  """name -> float64 polygon V x 2 (a box region: its 4 corners clockwise)."""
  pts = np.asarray(ibug68.to_ibug68(landmarks_68x2), np.float64)
  pad = margin * ibug68.interocular(pts)
  out = {}
  for name, idx in BOX_REGIONS.items():
    x0, y0, x1, y1 = _box(pts[list(idx)], pad, pad)
    out[name] = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
  for name, idx in POLYGON_REGIONS.items():
    out[name] = pts[list(idx)]
  return out


def region_boxes(landmarks_68x2, margin: float = 0.1) -> dict[str, tuple[float, ...]]:
  """name -> (x0, y0, x1, y1) bounding box of each region, pixels."""
  return {n: tuple(float(v) for v in _box(p, 0, 0))
          for n, p in region_polygons(landmarks_68x2, margin).items()}


def region_masks(landmarks_68x2, shape_hw, margin: float = 0.1,
                 names=None) -> dict[str, np.ndarray]:
  """name -> bool H x W mask of each region (filled polygon) in an image of
  shape_hw."""
  import cv2  # pylint: disable=import-outside-toplevel
  H, W = int(shape_hw[0]), int(shape_hw[1])
  out = {}
  for name, poly in region_polygons(landmarks_68x2, margin).items():
    if names is not None and name not in names:
      continue
    m = np.zeros((H, W), np.uint8)
    # 4 fractional bits: sub-pixel vertices.
    cv2.fillPoly(m, [np.round(poly * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    out[name] = m.astype(bool)
  return out


def grid36(landmarks_68x2) -> dict[str, tuple[float, ...]]:
  """`r{i}c{j}` (i, j = 0..5, rows top to bottom) -> (x0, y0, x1, y1): a 6 x 6
  grid over the bounding square of the 68 points (centred on their box)."""
  pts = np.asarray(ibug68.to_ibug68(landmarks_68x2), np.float64)
  lo, hi = pts.min(0), pts.max(0)
  side = float((hi - lo).max())
  x0, y0 = (lo + hi) / 2 - side / 2
  step = side / 6
  return {f"r{i}c{j}": (x0 + j * step, y0 + i * step, x0 + (j + 1) * step, y0 + (i + 1) * step)
          for i in range(6) for j in range(6)}


def dc_rois(landmarks_68x2, shape_hw, margin: float = 0.18) -> dict[str, tuple[float, ...]]:
  """D&C-RoIs' three RoIs from landmarks, as merjax.modalities.apex fractions
  name -> (y0, y1, x0, x1) of an H x W frame (clipped to [0, 1]); each box is the
  points' box enlarged by `margin` of its width / height on each side."""
  pts = np.asarray(ibug68.to_ibug68(landmarks_68x2), np.float64)
  H, W = float(shape_hw[0]), float(shape_hw[1])
  out = {}
  for name, idx in DC_ROI_POINTS.items():
    p = pts[list(idx)]
    w, h = p.max(0) - p.min(0)
    x0, y0, x1, y1 = _box(p, margin * w, margin * h)
    out[name] = (float(np.clip(y0 / H, 0, 1)), float(np.clip(y1 / H, 0, 1)),
                 float(np.clip(x0 / W, 0, 1)), float(np.clip(x1 / W, 0, 1)))
  return out
