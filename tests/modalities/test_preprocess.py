"""Preprocessing: bit-exact OpenCV parity, temporal sampling, face crop geometry."""

import cv2
import numpy as np
import pytest

from merjax.errors import MerjaxError
from merjax.modalities import preprocess as pp


def test_equalize_hist_bit_exact():
  rng = np.random.default_rng(0)
  cases = [rng.integers(lo, hi, (24, 31), dtype=np.uint8)
           for lo, hi in [(0, 256), (40, 90), (200, 256), (0, 3), (0, 2)]]
  cases.append((rng.normal(120, 20, (24, 31))).clip(0, 255).astype(np.uint8))
  cases.append(np.full((24, 31), 77, np.uint8))          # constant image
  cases.append(rng.integers(0, 256, (5, 64), dtype=np.uint8))
  for img in cases:
    np.testing.assert_array_equal(np.asarray(pp.equalize_hist(img)), cv2.equalizeHist(img))


def test_equalize_frames_per_channel():
  f = np.random.default_rng(1).integers(30, 200, (2, 12, 10, 3), dtype=np.uint8)
  out = np.asarray(pp.equalize_frames(f))
  np.testing.assert_array_equal(out[1, ..., 2], cv2.equalizeHist(f[1, ..., 2]))


def test_rgb_to_gray_bit_exact():
  img = np.random.default_rng(2).integers(0, 256, (40, 37, 3), dtype=np.uint8)
  np.testing.assert_array_equal(np.asarray(pp.rgb_to_gray(img))[..., 0],
                                cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))


def test_resize():
  f = np.random.default_rng(3).integers(0, 256, (2, 20, 30, 3), dtype=np.uint8)
  assert pp.resize_frames_cv2(f, 8).shape == (2, 8, 8, 3)
  assert pp.resize(f[0].astype(np.float32), 8).shape == (8, 8, 3)


def test_sample_indices():
  np.testing.assert_array_equal(pp.sample_indices(15, 8), [0, 2, 4, 6, 8, 10, 12, 14])
  np.testing.assert_array_equal(pp.sample_indices(3, 5), [0, 0, 1, 2, 2])
  np.testing.assert_array_equal(pp.sample_indices(20, 8, "fdp"), np.arange(8) * 2)
  starts = {int(pp.sample_indices(20, 8, "fdp", np.random.default_rng(s))[0]) for s in range(40)}
  assert starts == {0, 1, 2, 3, 4, 5}              # slack = 19 - 7 * 2 = 5
  assert pp.nearest_index(np.array([0, 4, 8]), 5) == 1


def test_crop_faces_with_injected_detector():
  f = np.zeros((3, 40, 50, 1), np.uint8)
  f[:, 10:20, 20:30] = 200
  out = pp.crop_faces(f, margin=0.0, detector=lambda g: [(20, 10, 10, 10), (0, 0, 2, 2)])
  assert out.shape == (3, 10, 10, 1) and (out == 200).all()
  out = pp.crop_faces(f, margin=0.5, detector=lambda g: [(45, 0, 10, 10)])  # off the edge
  assert out.shape == (3, 20, 20, 1)


def test_crop_faces_align_eyes_rotates():
  f = np.zeros((1, 60, 60, 1), np.uint8)
  cv2.line(f[0], (10, 20), (50, 40), 255, 3)         # the eye line is tilted
  eyes = lambda g: [(0, 0, 4, 4), (36, 16, 4, 4)]   # centres (2, 2), (38, 18) in the face
  assert pp.eye_angle([(2, 2), (38, 18)]) == pytest.approx(np.degrees(np.arctan2(16, 36)))
  out = pp.crop_faces(f, margin=0.0, align_eyes=True, detector=lambda g: [(0, 0, 60, 60)],
                      eye_detector=eyes)
  ys = np.nonzero(out[0, :, 15:45, 0] > 128)[0]
  assert np.ptp(ys) <= 6                              # now nearly horizontal


def test_missing_cascade_is_a_merjax_error():
  with pytest.raises(MerjaxError, match="cascade"):
    pp.load_cascade("/nonexistent/haarcascade.xml")
