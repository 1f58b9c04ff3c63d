"""The 68-point view (MediaPipe's 468 mapped by the index table) and facial regions."""

import os

import numpy as np
import pytest

from merjax import faces
from merjax.errors import MerjaxError
from merjax.faces import ibug68, regions
from merjax.modalities import apex as apex_lib

DATA = os.path.join(os.path.dirname(__file__), "data")


def mediapipe_astronaut():
  """MediaPipe 0.10.14 face-mesh points (468 x 2 pixels) of skimage's astronaut,
  computed once with mediapipe and stored (mediapipe is not a dependency)."""
  with np.load(os.path.join(DATA, "astronaut_mediapipe468.npz")) as z:
    return z["astronaut"]


def test_68_view_of_mediapipe_matches_dlib_eyes_and_mouth(astronaut_68):
  mp68 = faces.to_ibug68(mediapipe_astronaut())
  assert mp68.shape == (68, 2)
  iod = ibug68.interocular(astronaut_68)
  err = np.linalg.norm(mp68 - astronaut_68, axis=1) / iod
  for group in (ibug68.RIGHT_EYE, ibug68.LEFT_EYE, ibug68.OUTER_MOUTH, ibug68.INNER_MOUTH):
    assert err[list(group)].max() < 0.08, group
  # eye centres and mouth corners, the points alignment uses, within 4 % of the IOD
  a1, b1 = faces.eye_centres(mp68)
  a0, b0 = faces.eye_centres(astronaut_68)
  assert np.linalg.norm(a1 - a0) / iod < 0.04 and np.linalg.norm(b1 - b0) / iod < 0.04
  assert err[list(ibug68.MOUTH_CORNERS)].max() < 0.06
  assert np.median(err) < 0.06


def test_68_view_shapes():
  assert np.array_equal(faces.to_ibug68(np.arange(136.).reshape(68, 2)),
                        np.arange(136.).reshape(68, 2))
  table = np.asarray(ibug68.MEDIAPIPE_TO_IBUG68)
  assert len(set(table.tolist())) == 68 and table.min() >= 0 and table.max() < 468
  assert faces.to_ibug68(np.zeros((478, 2))).shape == (68, 2)      # with iris points
  with pytest.raises(MerjaxError, match="shape"):
    faces.to_ibug68(np.zeros((5, 2)))


def test_regions_on_the_aligned_astronaut(astronaut):
  aligned, M = faces.align_clip(astronaut[None], size=128)
  lm = faces.apply(M, faces.detect_landmarks(astronaut))
  boxes = faces.region_boxes(lm)
  assert set(boxes) == set(faces.REGIONS)
  for name, idx in regions.BOX_REGIONS.items():
    x0, y0, x1, y1 = boxes[name]
    p = lm[list(idx)]
    assert (p[:, 0] > x0).all() and (p[:, 0] < x1).all() and (p[:, 1] > y0).all() \
        and (p[:, 1] < y1).all(), name
  # layout: brows above eyes above the nose tip above the mouth above the chin's bottom
  cy = {n: (b[1] + b[3]) / 2 for n, b in boxes.items()}
  assert cy["right_brow"] < cy["right_eye"] < cy["nose"] < cy["mouth"] < cy["chin"]
  assert boxes["right_eye"][2] < boxes["left_eye"][0]        # image-left eye first
  masks = faces.region_masks(lm, (128, 128))
  assert all(m.shape == (128, 128) and m.sum() > 20 for m in masks.values())
  assert not (masks["right_eye"] & masks["left_eye"]).any()
  grid = faces.grid36(lm)
  assert len(grid) == 36
  x0, y0 = grid["r0c0"][:2]
  x1, y1 = grid["r5c5"][2:]
  assert abs((x1 - x0) - (y1 - y0)) < 1e-9
  assert x0 <= lm[:, 0].min() + 1e-6 and x1 >= lm[:, 0].max() - 1e-6


def test_dc_rois_from_landmarks(astronaut):
  aligned, M = faces.align_clip(astronaut[None], size=128)
  lm = faces.apply(M, faces.detect_landmarks(astronaut))
  rois = faces.dc_rois(lm, (128, 128))
  assert set(rois) == set(apex_lib.DEFAULT_ROIS)
  for y0, y1, x0, x1 in rois.values():
    assert 0 <= y0 < y1 <= 1 and 0 <= x0 < x1 <= 1
  assert rois["left_eye_brow"][3] <= rois["right_eye_brow"][3]
  assert rois["mouth"][0] > rois["left_eye_brow"][1]
  # usable by the D&C-RoIs spotter as its `rois`
  hist = apex_lib.roi_histograms(aligned[0].astype(np.float32) / 255, rois)
  assert hist.shape == (3, 256)
