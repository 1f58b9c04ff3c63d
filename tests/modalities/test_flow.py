"""Tests for merjax.modalities.flow (TV-L1 in jnp vs cv2.optflow, Farneback)."""

import functools

import jax
import numpy as np
import pytest

from merjax.errors import MerjaxError
from merjax.modalities import flow

cv2 = pytest.importorskip("cv2")
needs_optflow = pytest.mark.skipif(
  not hasattr(cv2, "optflow"), reason="needs opencv-contrib (cv2.optflow)")

# A small TV-L1 config for the cheap tests (compiles in a few seconds).
SMALL = dict(nscales=2, warps=2, inner_iterations=5, outer_iterations=2)


def _texture(x_HxW, y_HxW, seed=0, n=40):
  """Smooth random texture in [0, 1]: a sum of sinusoids, wavelengths 10-40 px."""
  rng = np.random.default_rng(seed)
  out_HxW = np.zeros_like(x_HxW)
  for _ in range(n):
    wavelength = rng.uniform(10, 40)
    angle, phase = rng.uniform(0, 2 * np.pi, 2)
    proj_HxW = np.cos(angle) * x_HxW + np.sin(angle) * y_HxW
    out_HxW += rng.uniform(0.5, 1) * np.cos(2 * np.pi * proj_HxW / wavelength + phase)
  return np.clip(0.5 + 0.15 * out_HxW / np.sqrt(0.29 * n), 0, 1)  # std ~0.15


def _field(x_HxW, y_HxW, amp, seed=1):
  """Smooth displacement field with |component| <= amp."""
  a = np.random.default_rng(seed).uniform(0, 2 * np.pi, 4)
  u_HxW = amp * np.sin(2 * np.pi * x_HxW / 160 + a[0]) * np.cos(2 * np.pi * y_HxW / 200 + a[1])
  v_HxW = amp * np.cos(2 * np.pi * x_HxW / 180 + a[2]) * np.sin(2 * np.pi * y_HxW / 150 + a[3])
  return u_HxW, v_HxW


def _pair(h, w, amp, seed=0):
  """frame1(p) = T(p - d(p)); the true flow f solves f(p) = d(p + f(p))."""
  y_HxW, x_HxW = np.mgrid[0:h, 0:w].astype(np.float64)
  tex0_HxW = _texture(x_HxW, y_HxW, seed)
  du_HxW, dv_HxW = _field(x_HxW, y_HxW, amp, seed + 1)
  tex1_HxW = _texture(x_HxW - du_HxW, y_HxW - dv_HxW, seed)
  u_HxW, v_HxW = np.zeros_like(x_HxW), np.zeros_like(x_HxW)
  for _ in range(50):
    u_HxW, v_HxW = _field(x_HxW + u_HxW, y_HxW + v_HxW, amp, seed + 1)
  to_u8 = lambda t: np.round(np.clip(t, 0, 1) * 255).astype(np.uint8)
  return to_u8(tex0_HxW), to_u8(tex1_HxW), np.stack([u_HxW, v_HxW], -1)


def _epe(a_HxWx2, b_HxWx2, margin=0):
  d_HxW = np.linalg.norm(np.asarray(a_HxWx2, np.float64) - b_HxWx2, axis=-1)
  if margin:
    d_HxW = d_HxW[margin:-margin, margin:-margin]
  return float(d_HxW.mean())


@functools.cache
def _pair_128():
  return _pair(128, 128, amp=3.0)


# ---------------------------------------------------------------------------
# Building blocks match the OpenCV calls TV-L1 uses.
# ---------------------------------------------------------------------------

def test_remap_cubic_matches_cv2():
  rng = np.random.default_rng(0)
  img_HxW = (rng.random((20, 24)) * 255).astype(np.float32)
  map_x_HxW = (np.arange(24)[None] + rng.normal(0, 3, (20, 24))).astype(np.float32)
  map_y_HxW = (np.arange(20)[:, None] + rng.normal(0, 3, (20, 24))).astype(np.float32)
  map_x_HxW[0, :4] = [-10.0, -3.5, 30.2, 23.9]  # far out, partly out
  ref_HxW = cv2.remap(img_HxW, map_x_HxW, map_y_HxW, cv2.INTER_CUBIC)
  ours_HxW = np.asarray(flow.remap_cubic(img_HxW[None], map_x_HxW, map_y_HxW)[0])
  np.testing.assert_allclose(ours_HxW, ref_HxW, atol=2e-3)


def test_median_filter_matches_cv2():
  img_HxW = (np.random.default_rng(1).random((17, 23)) * 255).astype(np.float32)
  ours_HxW = np.asarray(flow.median_filter(img_HxW, 5))
  np.testing.assert_array_equal(ours_HxW, cv2.medianBlur(img_HxW, 5))


def test_pyramid_resize_matches_cv2():
  img_HxW = (np.random.default_rng(2).random((40, 50)) * 255).astype(np.float32)
  down_HxW = cv2.resize(img_HxW, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_LINEAR)
  assert flow._pyramid_shapes(40, 50, 5, 0.8)[1] == down_HxW.shape
  ours_HxW = flow._resize_linear(img_HxW, down_HxW.shape, (0.8, 0.8))
  np.testing.assert_allclose(np.asarray(ours_HxW), down_HxW, atol=1e-3)
  up_HxW = cv2.resize(down_HxW, (50, 40), interpolation=cv2.INTER_LINEAR)
  ours_HxW = flow._resize_linear(down_HxW, (40, 50), (40 / 32, 50 / 40))
  np.testing.assert_allclose(np.asarray(ours_HxW), up_HxW, atol=1e-3)
  assert flow._pyramid_shapes(128, 128, 5, 0.8) == [
    (128, 128), (102, 102), (82, 82), (66, 66), (53, 53)]
  assert len(flow._pyramid_shapes(30, 30, 5, 0.8)) == 3  # stops below 16 px


@needs_optflow
def test_defaults_match_installed_opencv():
  algo = cv2.optflow.DualTVL1OpticalFlow_create()
  d = flow.TVL1_DEFAULTS
  assert algo.getTau() == d["tau"] and algo.getLambda() == d["lambda_"]
  assert algo.getTheta() == d["theta"] and algo.getGamma() == d["gamma"]
  assert algo.getScalesNumber() == d["nscales"] and algo.getWarpingsNumber() == d["warps"]
  assert algo.getEpsilon() == d["epsilon"] and algo.getScaleStep() == d["scale_step"]
  assert algo.getInnerIterations() == d["inner_iterations"]
  assert algo.getOuterIterations() == d["outer_iterations"]
  assert algo.getMedianFiltering() == d["median_filtering"]
  assert not algo.getUseInitialFlow()


# ---------------------------------------------------------------------------
# TV-L1 end to end.
# ---------------------------------------------------------------------------

@needs_optflow
def test_tvl1_matches_opencv_128():
  """Defaults, 128 x 128, smooth motion up to 3 px: mean EPE vs cv2 <= 0.05."""
  f0_HxW, f1_HxW, true_HxWx2 = _pair_128()
  ref_HxWx2 = flow.cv2_tvl1_flow(f0_HxW, f1_HxW)
  ours_HxWx2 = np.asarray(flow.tvl1_flow(f0_HxW, f1_HxW))
  assert ours_HxWx2.shape == (128, 128, 2) and ours_HxWx2.dtype == np.float32
  assert _epe(ours_HxWx2, ref_HxWx2) <= 0.05
  # Both are close to the true field away from the borders.
  assert _epe(ref_HxWx2, true_HxWx2, margin=8) < 0.15
  assert _epe(ours_HxWx2, true_HxWx2, margin=8) < 0.15


@needs_optflow
def test_tvl1_uint8_and_float_input_agree():
  """Floats in [0, 1] are scaled by 255 like OpenCV: same flow as uint8."""
  f0_HxW, f1_HxW, _ = _pair_128()
  ours_u8_HxWx2 = np.asarray(flow.tvl1_flow(f0_HxW, f1_HxW))
  ours_f_HxWx2 = np.asarray(flow.tvl1_flow(f0_HxW / np.float32(255), f1_HxW / np.float32(255)))
  assert _epe(ours_u8_HxWx2, ours_f_HxWx2) < 1e-3
  ref_f_HxWx2 = flow.cv2_tvl1_flow(f0_HxW / np.float32(255), f1_HxW / np.float32(255))
  assert _epe(ours_f_HxWx2, ref_f_HxWx2) <= 0.05


@needs_optflow
def test_tvl1_fixed_iterations_matches_opencv():
  """Small config (the early-stop default is covered at 128 x 128 above)."""
  f0_HxW, f1_HxW, _ = _pair(40, 48, amp=1.5, seed=3)
  ref_HxWx2 = flow.cv2_tvl1_flow(f0_HxW, f1_HxW, **SMALL)
  ours_HxWx2 = np.asarray(flow.tvl1_flow(f0_HxW, f1_HxW, fixed_iterations=True, **SMALL))
  assert _epe(ours_HxWx2, ref_HxWx2) <= 0.05


@needs_optflow
def test_tvl1_initial_flow_matches_opencv():
  f0_HxW, f1_HxW, true_HxWx2 = _pair(40, 48, amp=1.5, seed=3)
  init_HxWx2 = (0.5 * true_HxWx2).astype(np.float32)
  ref_HxWx2 = flow.cv2_tvl1_flow(f0_HxW, f1_HxW, initial_flow_HxWx2=init_HxWx2, **SMALL)
  ours_HxWx2 = flow.tvl1_flow(f0_HxW, f1_HxW, initial_flow_HxWx2=init_HxWx2, **SMALL)
  assert _epe(ours_HxWx2, ref_HxWx2) <= 0.05


def test_tvl1_batch_equals_single_and_jits():
  # Same shape and config as test_tvl1_fixed_iterations_matches_opencv, so
  # the single-pair kernel is compiled once for both.
  pairs = [_pair(40, 48, amp=1.5, seed=s) for s in (3, 5, 6)]
  f0_NxHxW = np.stack([p[0] for p in pairs])
  f1_NxHxW = np.stack([p[1] for p in pairs])
  batch_NxHxWx2 = np.asarray(
    flow.tvl1_flow_batch(f0_NxHxW, f1_NxHxW, fixed_iterations=True, **SMALL))
  assert batch_NxHxWx2.shape == (3, 40, 48, 2)
  for i in range(3):
    single_HxWx2 = np.asarray(
      flow.tvl1_flow(f0_NxHxW[i], f1_NxHxW[i], fixed_iterations=True, **SMALL))
    np.testing.assert_allclose(batch_NxHxWx2[i], single_HxWx2, atol=1e-3)
  # It also traces and lowers inside a user's jit (compiling is skipped: slow).
  jitted = jax.jit(functools.partial(flow.tvl1_flow_batch, fixed_iterations=True, **SMALL))
  out = jitted.lower(f0_NxHxW, f1_NxHxW).out_info
  assert out.shape == (3, 40, 48, 2) and out.dtype == np.float32


def test_tvl1_rejects_bad_input():
  with pytest.raises(MerjaxError):
    flow.tvl1_flow(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8))
  with pytest.raises(MerjaxError):
    flow.tvl1_flow(np.zeros((8, 8), np.int32), np.zeros((8, 8), np.int32))
  with pytest.raises(MerjaxError):
    flow.tvl1_flow(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), lam=1.0)


# ---------------------------------------------------------------------------
# Farneback.
# ---------------------------------------------------------------------------

def test_farneback_recovers_translation():
  y_HxW, x_HxW = np.mgrid[0:64, 0:64].astype(np.float64)
  shift = (1.5, -1.0)  # (u, v): frame1(p) = frame0(p - shift)
  f0_HxW = _texture(x_HxW, y_HxW, seed=7)
  f1_HxW = _texture(x_HxW - shift[0], y_HxW - shift[1], seed=7)
  flow_HxWx2 = flow.farneback_flow(f0_HxW.astype(np.float32), f1_HxW.astype(np.float32))
  assert flow_HxWx2.shape == (64, 64, 2) and flow_HxWx2.dtype == np.float32
  mean_uv = flow_HxWx2[12:-12, 12:-12].reshape(-1, 2).mean(0)
  np.testing.assert_allclose(mean_uv, shift, atol=0.2)
  u8 = lambda t: np.round(t * 255).astype(np.uint8)
  flow_u8_HxWx2 = flow.farneback_flow(u8(f0_HxW), u8(f1_HxW))
  np.testing.assert_allclose(flow_u8_HxWx2[12:-12, 12:-12].reshape(-1, 2).mean(0), shift, atol=0.2)
