"""Dense optical flow between two grayscale frames.

`tvl1_flow` is a pure-`jnp` port of the Dual TV-L1 scheme that OpenCV's
`cv2.optflow.DualTVL1OpticalFlow` (opencv_contrib `tvl1flow.cpp`) implements:
Zach-Pock-Bischof 2007 in the Sanchez-Perez (IPOL 2013) formulation, with
OpenCV's pyramid (linear resize by `scale_step`), bicubic warps (cv::remap,
a = -0.75, constant-0 border) and the 5x5 median filter on the
flow at each outer iteration. All pyramid levels run on one canvas of the input
size inside a lax.scan, so it compiles once per input shape (not per level).
It is jit-able and vmap-able; see docs/flow.md.

`farneback_flow` wraps `cv2.calcOpticalFlowFarneback` (numpy, not jit-able).

Output convention for both (same as OpenCV's calcOpticalFlow*): float32
H x W x 2 displacements in pixels, channel 0 = x (u), channel 1 = y (v), such
that frame1[y + v, x + u] ~ frame0[y, x].
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from merjax.errors import MerjaxError

# cv2.optflow.DualTVL1OpticalFlow_create() defaults (checked with the getters
# on opencv-contrib-python-headless 5.0.0).
TVL1_DEFAULTS = dict(
  tau=0.25,
  lambda_=0.15,
  theta=0.3,
  nscales=5,
  warps=5,
  epsilon=0.01,
  inner_iterations=30,
  outer_iterations=10,
  scale_step=0.8,
  gamma=0.0,
  median_filtering=5,
)

# Farneback parameters as HTNet uses them (OpenCV has no defaults).
FARNEBACK_DEFAULTS = dict(
  pyr_scale=0.5,
  levels=3,
  winsize=15,
  iterations=3,
  poly_n=5,
  poly_sigma=1.2,
  flags=0,
)

_MIN_LEVEL_SIZE = 16  # OpenCV stops the pyramid below 16 px on either side.
_CUBIC_A = -0.75  # cv::remap INTER_CUBIC kernel parameter.


# ----------------------------------------------------------------------------
# Building blocks (all H x W float32).
# ----------------------------------------------------------------------------

def _to_255(frame_HxW):
  """uint8 kept as 0-255, floats in [0, 1] scaled by 255 (as OpenCV's calc)."""
  frame_HxW = jnp.asarray(frame_HxW)
  if frame_HxW.dtype == jnp.uint8:
    return frame_HxW.astype(jnp.float32)
  if jnp.issubdtype(frame_HxW.dtype, jnp.floating):
    return frame_HxW.astype(jnp.float32) * jnp.float32(255.0)
  raise MerjaxError(
    f"tvl1_flow: frames must be uint8 or float in [0, 1], got {frame_HxW.dtype}")


def _resize_linear(img_HxW, out_hw, scale_hw):
  """cv2.resize(INTER_LINEAR) with an explicit scale: half-pixel centres,
  clamped borders, no antialiasing."""
  return jax.image.scale_and_translate(
    img_HxW, out_hw, (0, 1), jnp.asarray(scale_hw, jnp.float32),
    jnp.zeros(2, jnp.float32), "linear", antialias=False)


def _pyramid_shapes(h, w, nscales, scale_step):
  """Level shapes, finest first, as OpenCV builds them (cvRound, stop < 16)."""
  shapes = [(h, w)]
  for _ in range(1, nscales):
    ph, pw = shapes[-1]
    nh, nw = int(round(ph * scale_step)), int(round(pw * scale_step))
    if nh < _MIN_LEVEL_SIZE or nw < _MIN_LEVEL_SIZE:
      break
    shapes.append((nh, nw))
  return shapes


# All levels of the pyramid live on one H x W canvas (the finest size): level s
# occupies the top-left h_s x w_s block and is zero elsewhere. The operators
# below take the valid size (h, w) as traced scalars and reproduce OpenCV's
# border rules at that size, so one compiled scale step (a lax.scan body)
# serves every level: compile time no longer grows with nscales.

def _col_row_ids(canvas_hw):
  ch, cw = canvas_hw
  return (jnp.arange(ch, dtype=jnp.int32)[:, None],
          jnp.arange(cw, dtype=jnp.int32)[None, :])


def _valid_mask(canvas_hw, h, w):
  ys, xs = _col_row_ids(canvas_hw)
  return (ys < h) & (xs < w)


def _shift(a_HxW, dy, dx):
  """a[y + dy, x + dx] with zeros past the canvas (dy, dx in {-1, 0, 1})."""
  lead = [(0, 0)] * (a_HxW.ndim - 2)
  ch, cw = a_HxW.shape[-2:]
  a_HxW = a_HxW[..., max(dy, 0):ch + min(dy, 0), max(dx, 0):cw + min(dx, 0)]
  return jnp.pad(a_HxW, lead + [(max(-dy, 0), max(dy, 0)), (max(-dx, 0), max(dx, 0))])


def _centered_gradient(img_HxW, h, w):
  """0.5 * central differences; one-sided 0.5 * differences at the borders
  of the valid h x w block (OpenCV centeredGradient). Zero outside it."""
  ys, xs = _col_row_ids(img_HxW.shape)
  right = jnp.where(xs + 1 < w, _shift(img_HxW, 0, 1), img_HxW)
  left = jnp.where(xs >= 1, _shift(img_HxW, 0, -1), img_HxW)
  down = jnp.where(ys + 1 < h, _shift(img_HxW, 1, 0), img_HxW)
  up = jnp.where(ys >= 1, _shift(img_HxW, -1, 0), img_HxW)
  valid = (ys < h) & (xs < w)
  return (jnp.where(valid, 0.5 * (right - left), 0.0),
          jnp.where(valid, 0.5 * (down - up), 0.0))


def _forward_masks(canvas_hw, h, w):
  """Float masks that zero forward differences on the last valid column (x)
  and row (y) and outside the valid block (OpenCV forwardGradient)."""
  ys, xs = _col_row_ids(canvas_hw)
  mx = ((xs + 1 < w) & (ys < h)).astype(jnp.float32)
  my = ((ys + 1 < h) & (xs < w)).astype(jnp.float32)
  return mx, my


def _forward_gradient(u_NxHxW, mx_HxW, my_HxW):
  """Forward differences, masked by `_forward_masks`."""
  return ((_shift(u_NxHxW, 0, 1) - u_NxHxW) * mx_HxW,
          (_shift(u_NxHxW, 1, 0) - u_NxHxW) * my_HxW)


def _divergence(px_NxHxW, py_NxHxW):
  """Backward-difference divergence with p = 0 before the first row/column."""
  return (px_NxHxW - _shift(px_NxHxW, 0, -1)) + (py_NxHxW - _shift(py_NxHxW, -1, 0))


def _batcher_pairs(n):
  """Comparators of Batcher's odd-even merge sort for n inputs (pruned from
  the next power of two: comparators touching the +inf padding are no-ops)."""
  m = 1
  while m < n:
    m *= 2
  pairs = []
  p = 1
  while p < m:
    k = p
    while k >= 1:
      for j in range(k % p, m - k, 2 * k):
        for i in range(min(k, m - j - k)):
          lo, hi = i + j, i + j + k
          if lo // (2 * p) == hi // (2 * p) and hi < n:
            pairs.append((lo, hi))
      k //= 2
    p *= 2
  return pairs


@functools.cache
def _selection_pairs(n, rank):
  """The comparators of the n-sorter that the output at `rank` depends on."""
  needed, kept = {rank}, []
  for lo, hi in reversed(_batcher_pairs(n)):
    if lo in needed or hi in needed:
      kept.append((lo, hi))
      needed |= {lo, hi}
  return tuple(reversed(kept))


def median_filter(img_CxHxW, ksize=5):
  """k x k median over the last two axes with replicated borders
  (= cv2.medianBlur on float32, per channel).

  A pruned min/max selection network over the k*k shifted views (113
  compare-exchanges for 5 x 5): elementwise, so XLA fuses it; far faster on
  CPU than sorting a k*k axis.
  """
  if ksize <= 1:
    return img_CxHxW
  r = ksize // 2
  n = ksize * ksize
  h, w = img_CxHxW.shape[-2:]
  lead = [(0, 0)] * (img_CxHxW.ndim - 2)
  pad_CxHxW = jnp.pad(img_CxHxW, lead + [(r, r), (r, r)], mode="edge")
  views = [pad_CxHxW[..., i:i + h, j:j + w] for i in range(ksize) for j in range(ksize)]
  for lo, hi in _selection_pairs(n, n // 2):
    views[lo], views[hi] = (jnp.minimum(views[lo], views[hi]),
                            jnp.maximum(views[lo], views[hi]))
  return views[n // 2]


def _replicate_beyond(a_NxHxW, h, w):
  """Fills the canvas outside the valid block with its edge values."""
  ys, xs = _col_row_ids(a_NxHxW.shape[-2:])
  last_col = lax.dynamic_slice_in_dim(a_NxHxW, w - 1, 1, axis=a_NxHxW.ndim - 1)
  a_NxHxW = jnp.where(xs < w, a_NxHxW, last_col)
  last_row = lax.dynamic_slice_in_dim(a_NxHxW, h - 1, 1, axis=a_NxHxW.ndim - 2)
  return jnp.where(ys < h, a_NxHxW, last_row)


def _median_valid(u_NxHxW, ksize, h, w):
  """median_filter of the valid h x w block (replicated at its borders)."""
  out = median_filter(_replicate_beyond(u_NxHxW, h, w), ksize)
  return jnp.where(_valid_mask(u_NxHxW.shape[-2:], h, w), out, 0.0)


def _cubic_weights(t):
  """Keys cubic weights (a = -0.75) for taps at -1, 0, 1, 2; t in [0, 1)."""
  a = _CUBIC_A
  t1 = t + 1.0
  s = 1.0 - t
  w0 = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a
  w1 = ((a + 2) * t - (a + 3)) * t * t + 1
  w2 = ((a + 2) * s - (a + 3)) * s * s + 1
  w3 = 1.0 - w0 - w1 - w2
  return jnp.stack([w0, w1, w2, w3])



def remap_cubic(images_CxHxW, map_x_HxW, map_y_HxW, h=None, w=None):
  """cv2.remap(INTER_CUBIC, BORDER_CONSTANT 0) of C images with float maps.

  Like OpenCV 5 (measured), the 4 x 4 taps use the a = -0.75 kernel at the
  exact fractional position (older OpenCV quantised it to 1/32 px) and taps
  outside the image read 0. Each output gathers one C x 4 x 4 window of the
  zero-padded images (one windowed gather, much faster on CPU than 16 takes).
  With (h, w) given, the image is the top-left h x w block of the canvas and
  must be zero elsewhere.
  """
  c, ch, cw = images_CxHxW.shape
  h = ch if h is None else h
  w = cw if w is None else w
  pad = 4  # a window starting in [-4, cw] lies inside the padded canvas
  pad_CxHxW = jnp.pad(images_CxHxW, ((0, 0), (pad, pad), (pad, pad)))
  sx_HxW = jnp.floor(map_x_HxW)
  sy_HxW = jnp.floor(map_y_HxW)
  wx_4xHxW = _cubic_weights(map_x_HxW - sx_HxW)
  wy_4xHxW = _cubic_weights(map_y_HxW - sy_HxW)
  # Clip before the int cast so huge/NaN coordinates cannot overflow.
  x0_HxW = jnp.clip(sx_HxW, -2 * pad, cw + pad).astype(jnp.int32) - 1
  y0_HxW = jnp.clip(sy_HxW, -2 * pad, ch + pad).astype(jnp.int32) - 1
  inside_HxW = (x0_HxW >= -pad) & (x0_HxW <= w) & (y0_HxW >= -pad) & (y0_HxW <= h)
  xs_HxW = jnp.clip(x0_HxW, -pad, cw) + pad
  ys_HxW = jnp.clip(y0_HxW, -pad, ch) + pad

  def window(y, x):
    return lax.dynamic_slice(pad_CxHxW, (0, y, x), (c, 4, 4))

  win_HxWxCx4x4 = jax.vmap(jax.vmap(window))(ys_HxW, xs_HxW)
  w_HxWx4x4 = jnp.einsum("ihw,jhw->hwij", wy_4xHxW, wx_4xHxW)
  out_CxHxW = jnp.einsum("hwcij,hwij->chw", win_HxWxCx4x4, w_HxWx4x4)
  return jnp.where(inside_HxW[None], out_CxHxW, 0.0)


def _upsample_linear(u_NxHxW, src_hw, dst_hw):
  """cv2.resize(INTER_LINEAR, dsize) of the valid src block to dst, on the
  canvas (half-pixel centres, coordinates clamped to the source)."""
  (sh, sw), (dh, dw) = src_hw, dst_hw
  ys, xs = _col_row_ids(u_NxHxW.shape[-2:])

  def coords(ids, src, dst):
    pos = (ids.astype(jnp.float32) + 0.5) * (src.astype(jnp.float32) / dst) - 0.5
    pos = jnp.clip(pos, 0.0, (src - 1).astype(jnp.float32))
    i0 = jnp.floor(pos).astype(jnp.int32)
    return i0, jnp.minimum(i0 + 1, src - 1), pos - i0

  x0, x1, ax = coords(xs[0], sw, dw)
  u_NxHxW = (jnp.take(u_NxHxW, x0, axis=-1) * (1 - ax)
             + jnp.take(u_NxHxW, x1, axis=-1) * ax)
  y0, y1, ay = coords(ys[:, 0], sh, dh)
  u_NxHxW = (jnp.take(u_NxHxW, y0, axis=-2) * (1 - ay)[:, None]
             + jnp.take(u_NxHxW, y1, axis=-2) * ay[:, None])
  return jnp.where((ys < dh) & (xs < dw), u_NxHxW, 0.0)


# ----------------------------------------------------------------------------
# TV-L1.
# ----------------------------------------------------------------------------

def _tvl1_one_scale(i0_HxW, i1_HxW, u_NxHxW, h, w, *, tau, lambda_, theta,
                    warps, epsilon, inner_iterations, outer_iterations, gamma,
                    median_filtering, fixed_iterations):
  """Refines the flow (u1, u2[, u3]) at one level (OpenCV procOneScale).

  The level is the valid h x w block of the canvas; N = 3 with gamma, else 2.
  """
  canvas_hw = i0_HxW.shape
  use_gamma = gamma != 0
  valid_HxW = _valid_mask(canvas_hw, h, w).astype(jnp.float32)
  mx_HxW, my_HxW = _forward_masks(canvas_hw, h, w)
  area = (h * w).astype(jnp.float32)
  scaled_eps = jnp.float32(epsilon * epsilon) * area
  l_t = jnp.float32(lambda_ * theta)
  taut = jnp.float32(tau / theta)
  theta32 = jnp.float32(theta)
  gamma32 = jnp.float32(gamma)
  tiny = jnp.finfo(jnp.float32).eps

  i1x_HxW, i1y_HxW = _centered_gradient(i1_HxW, h, w)
  i1_stack_3xHxW = jnp.stack([i1_HxW, i1x_HxW, i1y_HxW])
  grid_y_HxW, grid_x_HxW = jnp.meshgrid(
    jnp.arange(canvas_hw[0], dtype=jnp.float32),
    jnp.arange(canvas_hw[1], dtype=jnp.float32), indexing="ij")
  p_Nx2xHxW = jnp.zeros((u_NxHxW.shape[0], 2) + canvas_hw, jnp.float32)

  def inner_step(u_NxHxW, p_Nx2xHxW, i1wx_HxW, i1wy_HxW, grad_HxW, rho_c_HxW):
    # Thresholding: v = u + fi * grad(I1w).
    rho_HxW = rho_c_HxW + (i1wx_HxW * u_NxHxW[0] + i1wy_HxW * u_NxHxW[1])
    if use_gamma:
      rho_HxW = rho_HxW + gamma32 * u_NxHxW[2]
    lg_HxW = l_t * grad_HxW
    safe_grad_HxW = jnp.where(grad_HxW > tiny, grad_HxW, 1.0)
    fi_HxW = jnp.where(
      rho_HxW < -lg_HxW, l_t,
      jnp.where(rho_HxW > lg_HxW, -l_t,
                jnp.where(grad_HxW > tiny, -rho_HxW / safe_grad_HxW, 0.0)))
    d = [fi_HxW * i1wx_HxW, fi_HxW * i1wy_HxW]
    if use_gamma:
      d.append(fi_HxW * gamma32 * valid_HxW)
    v_NxHxW = u_NxHxW + jnp.stack(d)
    # Primal step. Outside the valid block u, p, I1wx, I1wy are all 0 and the
    # masked forward differences keep p there at 0, so u stays 0 unmasked.
    div_NxHxW = _divergence(p_Nx2xHxW[:, 0], p_Nx2xHxW[:, 1])
    new_u_NxHxW = v_NxHxW + theta32 * div_NxHxW
    error = jnp.sum(jnp.square(new_u_NxHxW - u_NxHxW))
    # Dual step (Chambolle's fixed point).
    gx_NxHxW, gy_NxHxW = _forward_gradient(new_u_NxHxW, mx_HxW, my_HxW)
    ng_NxHxW = 1.0 + taut * jnp.sqrt(gx_NxHxW * gx_NxHxW + gy_NxHxW * gy_NxHxW)
    new_p_Nx2xHxW = ((p_Nx2xHxW + taut * jnp.stack([gx_NxHxW, gy_NxHxW], 1))
                     / ng_NxHxW[:, None])
    return new_u_NxHxW, new_p_Nx2xHxW, error

  def median_step(u_NxHxW):
    if median_filtering <= 1:
      return u_NxHxW
    u12_2xHxW = _median_valid(u_NxHxW[:2], median_filtering, h, w)
    return jnp.concatenate([u12_2xHxW, u_NxHxW[2:]])

  def warp_body(_, carry):
    u_NxHxW, p_Nx2xHxW = carry
    i1w_3xHxW = remap_cubic(
      i1_stack_3xHxW, grid_x_HxW + u_NxHxW[0], grid_y_HxW + u_NxHxW[1], h, w)
    i1w_3xHxW = i1w_3xHxW * valid_HxW  # zero outside the valid block
    i1w_HxW, i1wx_HxW, i1wy_HxW = i1w_3xHxW
    grad_HxW = i1wx_HxW * i1wx_HxW + i1wy_HxW * i1wy_HxW
    rho_c_HxW = i1w_HxW - i1wx_HxW * u_NxHxW[0] - i1wy_HxW * u_NxHxW[1] - i0_HxW
    step = functools.partial(
      inner_step, i1wx_HxW=i1wx_HxW, i1wy_HxW=i1wy_HxW, grad_HxW=grad_HxW,
      rho_c_HxW=rho_c_HxW)

    if fixed_iterations:
      def inner_body(_, c):
        u, p = c
        u, p, _ = step(u, p)
        return u, p

      def outer_body(_, c):
        u, p = c
        return lax.fori_loop(0, inner_iterations, inner_body, (median_step(u), p))

      return lax.fori_loop(0, outer_iterations, outer_body, (u_NxHxW, p_Nx2xHxW))

    # OpenCV's stopping rule: both loops end once sum |du|^2 <= eps^2 * h * w.
    def inner_cond(c):
      _, _, err, n = c
      return (err > scaled_eps) & (n < inner_iterations)

    def inner_body(c):
      u, p, _, n = c
      u, p, err = step(u, p)
      return u, p, err, n + 1

    def outer_cond(c):
      _, _, err, n = c
      return (err > scaled_eps) & (n < outer_iterations)

    def outer_body(c):
      u, p, err, n = c
      u, p, err, _ = lax.while_loop(
        inner_cond, inner_body, (median_step(u), p, err, jnp.int32(0)))
      return u, p, err, n + 1

    init = (u_NxHxW, p_Nx2xHxW, jnp.finfo(jnp.float32).max, jnp.int32(0))
    u_NxHxW, p_Nx2xHxW, _, _ = lax.while_loop(outer_cond, outer_body, init)
    return u_NxHxW, p_Nx2xHxW

  # p is zeroed once per level, not per warp (as OpenCV).
  u_NxHxW, _ = lax.fori_loop(0, warps, warp_body, (u_NxHxW, p_Nx2xHxW))
  return u_NxHxW


def _pad_to(a_HxW, canvas_hw):
  h, w = a_HxW.shape[-2:]
  lead = [(0, 0)] * (a_HxW.ndim - 2)
  return jnp.pad(a_HxW, lead + [(0, canvas_hw[0] - h), (0, canvas_hw[1] - w)])


@functools.partial(jax.jit, static_argnames=(
  "tau", "lambda_", "theta", "nscales", "warps", "epsilon", "inner_iterations",
  "outer_iterations", "scale_step", "gamma", "median_filtering",
  "fixed_iterations"))
def _tvl1_jit(i0_HxW, i1_HxW, initial_flow_HxWx2, *, tau, lambda_, theta,
              nscales, warps, epsilon, inner_iterations, outer_iterations,
              scale_step, gamma, median_filtering, fixed_iterations):
  """Frames already float32 on the 0-255 scale."""
  canvas_hw = i0_HxW.shape
  shapes = _pyramid_shapes(*canvas_hw, nscales, scale_step)
  n_u = 3 if gamma != 0 else 2
  down = (scale_step, scale_step)
  i0s, i1s = [i0_HxW], [i1_HxW]
  for shape in shapes[1:]:
    i0s.append(_resize_linear(i0s[-1], shape, down))
    i1s.append(_resize_linear(i1s[-1], shape, down))

  if initial_flow_HxWx2 is None:
    u_NxHxW = jnp.zeros((n_u,) + canvas_hw, jnp.float32)
  else:
    u_2xHxW = jnp.moveaxis(jnp.asarray(initial_flow_HxWx2, jnp.float32), -1, 0)
    for shape in shapes[1:]:
      u_2xHxW = jax.vmap(lambda c, shape=shape: _resize_linear(c, shape, down))(u_2xHxW)
      u_2xHxW = u_2xHxW * jnp.float32(scale_step)
    u_NxHxW = _pad_to(jnp.concatenate(
      [u_2xHxW, jnp.zeros((n_u - 2,) + shapes[-1], jnp.float32)]), canvas_hw)

  # Coarse to fine; each step refines its level, then resizes to the next
  # finer one (the last step "resizes" to its own size: the identity).
  order = list(range(len(shapes) - 1, -1, -1))
  xs = dict(
    i0=jnp.stack([_pad_to(i0s[s], canvas_hw) for s in order]),
    i1=jnp.stack([_pad_to(i1s[s], canvas_hw) for s in order]),
    hw=jnp.asarray([shapes[s] for s in order], jnp.int32),
    next_hw=jnp.asarray([shapes[max(s - 1, 0)] for s in order], jnp.int32),
    zoom=jnp.asarray([1.0 / scale_step if s else 1.0 for s in order], jnp.float32))
  params = dict(
    tau=tau, lambda_=lambda_, theta=theta, warps=warps, epsilon=epsilon,
    inner_iterations=inner_iterations, outer_iterations=outer_iterations,
    gamma=gamma, median_filtering=median_filtering,
    fixed_iterations=fixed_iterations)

  def level(u_NxHxW, x):
    h, w = x["hw"][0], x["hw"][1]
    u_NxHxW = _tvl1_one_scale(x["i0"], x["i1"], u_NxHxW, h, w, **params)
    u_NxHxW = _upsample_linear(u_NxHxW, (h, w), (x["next_hw"][0], x["next_hw"][1]))
    zoom_N = jnp.ones((n_u,), jnp.float32).at[:2].set(x["zoom"])  # not u3
    return u_NxHxW * zoom_N[:, None, None], None

  u_NxHxW, _ = lax.scan(level, u_NxHxW, xs)
  return jnp.stack([u_NxHxW[0], u_NxHxW[1]], axis=-1)


def _check_pair(frame0, frame1, ndim, name):
  if frame0.shape != frame1.shape or frame0.ndim != ndim:
    raise MerjaxError(
      f"{name}: expected two frames of the same {ndim}-D shape, got "
      f"{frame0.shape} and {frame1.shape}")
  if frame0.shape[-1] < 3 or frame0.shape[-2] < 3:
    raise MerjaxError(f"{name}: frames must be at least 3 x 3, got {frame0.shape}")


def tvl1_flow(frame0_HxW, frame1_HxW, *, initial_flow_HxWx2=None,
              fixed_iterations=False, **params):
  """Dual TV-L1 flow from frame0 to frame1, as cv2.optflow.DualTVL1OpticalFlow.

  Frames: H x W grayscale, uint8 (0-255) or float in [0, 1] (scaled by 255 as
  OpenCV does). params: see TVL1_DEFAULTS (`lambda_` for lambda).
  `fixed_iterations=False` (default) stops each warp like OpenCV once
  sum |du|^2 <= epsilon^2 * h * w; True always runs outer x inner iterations
  (deterministic work, but ~10x slower at the defaults, which usually stop
  early, and further from OpenCV).
  Returns float32 H x W x 2 (u = x displacement, v = y displacement).
  Jitted (params static); vmap it or use `tvl1_flow_batch` for batches.
  """
  unknown = set(params) - set(TVL1_DEFAULTS)
  if unknown:
    raise MerjaxError(f"tvl1_flow: unknown parameters {sorted(unknown)}")
  frame0_HxW, frame1_HxW = jnp.asarray(frame0_HxW), jnp.asarray(frame1_HxW)
  _check_pair(frame0_HxW, frame1_HxW, 2, "tvl1_flow")
  merged = {**TVL1_DEFAULTS, **params}
  merged = {k: (float(v) if isinstance(TVL1_DEFAULTS[k], float) else int(v))
            for k, v in merged.items()}
  # Converted outside the jit so uint8 and float input share one compilation.
  return _tvl1_jit(_to_255(frame0_HxW), _to_255(frame1_HxW), initial_flow_HxWx2,
                   fixed_iterations=bool(fixed_iterations), **merged)


def tvl1_flow_batch(frames0_NxHxW, frames1_NxHxW, *, fixed_iterations=False,
                    **params):
  """`tvl1_flow` vmapped over N pairs; returns N x H x W x 2.

  With `fixed_iterations=False` (default) the batched while_loops run every
  pair until the slowest one stops; each pair's result still follows OpenCV's
  stopping rule (finished pairs are masked). True runs every pair for all
  outer x inner iterations.
  """
  frames0_NxHxW, frames1_NxHxW = jnp.asarray(frames0_NxHxW), jnp.asarray(frames1_NxHxW)
  _check_pair(frames0_NxHxW, frames1_NxHxW, 3, "tvl1_flow_batch")
  fn = functools.partial(tvl1_flow, fixed_iterations=fixed_iterations, **params)
  return jax.vmap(fn)(frames0_NxHxW, frames1_NxHxW)


def cv2_tvl1_flow(frame0_HxW, frame1_HxW, *, initial_flow_HxWx2=None, **params):
  """Reference: the same call through cv2.optflow (needs opencv-contrib)."""
  import cv2  # pylint: disable=import-outside-toplevel
  p = {**TVL1_DEFAULTS, **params}
  algo = cv2.optflow.DualTVL1OpticalFlow_create(
    tau=p["tau"], lambda_=p["lambda_"], theta=p["theta"], nscales=p["nscales"],
    warps=p["warps"], epsilon=p["epsilon"], innnerIterations=p["inner_iterations"],
    outerIterations=p["outer_iterations"], scaleStep=p["scale_step"],
    gamma=p["gamma"], medianFiltering=p["median_filtering"],
    useInitialFlow=initial_flow_HxWx2 is not None)
  f0, f1 = np.asarray(frame0_HxW), np.asarray(frame1_HxW)
  if f0.dtype != np.uint8:
    f0, f1 = f0.astype(np.float32), f1.astype(np.float32)
  flow = None
  if initial_flow_HxWx2 is not None:
    flow = np.array(initial_flow_HxWx2, np.float32, copy=True)
  return algo.calc(f0, f1, flow)


# ----------------------------------------------------------------------------
# Farneback (OpenCV, numpy only).
# ----------------------------------------------------------------------------

def farneback_flow(frame0_HxW, frame1_HxW, **params):
  """cv2.calcOpticalFlowFarneback from frame0 to frame1 (numpy, not jit-able).

  Frames: H x W uint8 (passed as is), or float in [0, 1] (passed as float32
  scaled by 255, like the TV-L1 convention). params: FARNEBACK_DEFAULTS.
  Returns float32 H x W x 2 (u, v) in pixels.
  """
  import cv2  # pylint: disable=import-outside-toplevel
  unknown = set(params) - set(FARNEBACK_DEFAULTS)
  if unknown:
    raise MerjaxError(f"farneback_flow: unknown parameters {sorted(unknown)}")
  p = {**FARNEBACK_DEFAULTS, **params}
  f0, f1 = np.asarray(frame0_HxW), np.asarray(frame1_HxW)
  _check_pair(f0, f1, 2, "farneback_flow")

  def to_cv(f):
    if f.dtype == np.uint8:
      return f
    if np.issubdtype(f.dtype, np.floating):
      return f.astype(np.float32) * np.float32(255.0)
    raise MerjaxError(
      f"farneback_flow: frames must be uint8 or float in [0, 1], got {f.dtype}")

  flow_HxWx2 = cv2.calcOpticalFlowFarneback(
    to_cv(f0), to_cv(f1), None, p["pyr_scale"], p["levels"], p["winsize"],
    p["iterations"], p["poly_n"], p["poly_sigma"], p["flags"])
  return flow_HxWx2.astype(np.float32)
