"""Optical strain vs numpy (np.gradient and MEAN's backward differences)."""

import jax
import numpy as np
import pytest

from merjax.modalities import strain as s


def _backward_np(f, axis):
  d = f - np.roll(f, 1, axis=axis)
  if axis == 0:
    d[0] = 0
  else:
    d[:, 0] = 0
  return d


def _strain_np(flow, form, scheme):
  u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
  if scheme == "central":
    uy, ux = np.gradient(u)
    vy, vx = np.gradient(v)
  else:
    ux, uy, vx, vy = _backward_np(u, 1), _backward_np(u, 0), _backward_np(v, 1), _backward_np(v, 0)
  shear = 0.5 * (uy + vx) ** 2 if form == "mer" else 0.5 * (uy ** 2 + vx ** 2)
  return np.sqrt(ux ** 2 + vy ** 2 + shear)


@pytest.mark.parametrize("form", ["mer", "dfrnet"])
@pytest.mark.parametrize("scheme", ["central", "backward"])
def test_strain_matches_numpy(form, scheme):
  flow = np.random.default_rng(0).normal(size=(9, 11, 2)).astype(np.float32)
  np.testing.assert_allclose(s.optical_strain(flow, form, scheme),
                             _strain_np(flow, form, scheme), rtol=1e-5, atol=1e-5)


def test_forms_differ_and_known_field():
  # u = y (pure shear): u_y = 1, others 0 -> mer sqrt(1/2), dfrnet sqrt(1/2);
  # u = y, v = x: mer sqrt(2), dfrnet 1.
  yy, xx = np.mgrid[0:6, 0:7].astype(np.float32)
  flow = np.stack([yy, xx], -1)
  np.testing.assert_allclose(s.optical_strain(flow, "mer"), np.sqrt(2), rtol=1e-6)
  np.testing.assert_allclose(s.optical_strain(flow, "dfrnet"), 1.0, rtol=1e-6)


def test_flow_strain_image_channels():
  flows = np.random.default_rng(1).normal(size=(3, 8, 8, 2)).astype(np.float32)
  img = np.asarray(jax.vmap(s.flow_strain_image)(flows))
  assert img.shape == (3, 8, 8, 3)
  np.testing.assert_allclose(img.min(axis=(1, 2)), 0, atol=1e-6)
  np.testing.assert_allclose(img.max(axis=(1, 2)), 1, atol=1e-6)
  u = flows[0, ..., 0]
  np.testing.assert_allclose(img[0, ..., 0], (u - u.min()) / (u.max() - u.min()), atol=1e-6)
  mag = np.asarray(s.flow_strain_image(flows[0], third="magnitude", normalize="none"))[..., 2]
  np.testing.assert_allclose(mag, np.hypot(flows[0, ..., 0], flows[0, ..., 1]), rtol=1e-5)
