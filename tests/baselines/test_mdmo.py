"""MDMO on hand-made flow fields whose main directions and means are known."""

import numpy as np
import pytest

from merjax.baselines import mdmo
from merjax.errors import MerjaxError


def polar(rho, degrees):
  a = np.deg2rad(degrees)
  return np.array([rho * np.cos(a), rho * np.sin(a)], np.float32)


def hand_field():
  """8 x 8 field, 2 x 2 grid of 4 x 4 ROIs: ROI 0 all (1, 0); ROI 1 twelve vectors
  straight down the image (0, 2) and four (1, 0); ROI 2 ten at 200 deg with length 1 and
  six at 210 deg with length 3 (one bin, [180, 225)); ROI 3 no motion."""
  f = np.zeros((8, 8, 2), np.float32)
  f[:4, :4] = (1, 0)
  roi1 = np.zeros((16, 2), np.float32)
  roi1[:12] = (0, 2)
  roi1[12:] = (1, 0)
  f[:4, 4:] = roi1.reshape(4, 4, 2)
  roi2 = np.stack([polar(1, 200)] * 10 + [polar(3, 210)] * 6)
  f[4:, :4] = roi2.reshape(4, 4, 2)
  return f


def test_main_directions_of_a_hand_made_field():
  f = hand_field()
  rho, theta, main = (np.asarray(a) for a in mdmo.main_directions(
      f, mdmo.roi_ids(8, 8, (2, 2)), 4, bins=8))
  np.testing.assert_array_equal(main, [0, 2, 4, 0])
  np.testing.assert_allclose(rho, [1, 2, (10 * 1 + 6 * 3) / 16, 0], rtol=1e-6)
  np.testing.assert_allclose(np.rad2deg(theta), [0, 90, (10 * 200 + 6 * 210) / 16, 0],
                             rtol=1e-5, atol=1e-4)


def test_clip_feature_averages_fields_and_normalises_magnitude():
  """Second field: the first one doubled in length; the mean rho per ROI is 1.5 x the
  first field's, then divided by its largest ROI value (2 x 1.5 = 3)."""
  f = hand_field()
  flows = np.stack([f, 2 * f])[None]
  got = mdmo.mdmo_features(flows, grid=(2, 2), bins=8)
  rho = np.array([1, 2, 1.75, 0]) * 1.5 / 3.0
  theta = np.deg2rad([0, 90, 203.75, 0])
  np.testing.assert_allclose(got[0], np.stack([rho, theta], 1).ravel(), rtol=1e-5, atol=1e-6)
  raw = mdmo.mdmo_features(flows, grid=(2, 2), bins=8, normalize_magnitude=False)
  np.testing.assert_allclose(raw[0, 0::2], np.array([1, 2, 1.75, 0]) * 1.5, rtol=1e-5)


def test_flow_pairs_and_errors():
  np.testing.assert_array_equal(np.stack(mdmo.flow_pairs(4, "onset")), [[0, 0, 0], [1, 2, 3]])
  np.testing.assert_array_equal(np.stack(mdmo.flow_pairs(4, "consecutive")),
                                [[0, 1, 2], [1, 2, 3]])
  with pytest.raises(MerjaxError, match="grid"):
    mdmo.mdmo_features(np.zeros((1, 1, 4, 4, 2)), grid=(6, 6))
