"""Apex spotting: D&C-RoIs (DFR-Net section 3.1.1, after Liong et al.) and the
middle-frame rule.

Our reading (the seed paper leaves these open; see docs/modalities.md):
- LBP(8, 1), 256-bin histograms (no uniform mapping, no blocks), L2-normalised,
  over three RoIs given as fractions (y0, y1, x0, x1) of a face-cropped frame.
- Feature difference of frame j: 1 - d, with d the cosine between the onset
  frame's histogram and frame j's (Eq. 1), combined over RoIs by max (or sum).
- Divide and conquer: within frames 1..L-1 (the onset excluded), split the
  interval in halves, keep the half with the larger mean difference, repeat
  until at most `min_len` frames remain, then take their argmax.
All jnp: jit- and vmap-able over clips (length traced).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# (y0, y1, x0, x1) as fractions of the frame; image-left is the subject's right.
DEFAULT_ROIS = {
    "left_eye_brow": (0.15, 0.50, 0.08, 0.50),
    "right_eye_brow": (0.15, 0.50, 0.50, 0.92),
    "mouth": (0.60, 0.95, 0.20, 0.80),
}

# Neighbour offsets (dy, dx) of LBP(8, 1), bit k for the k-th neighbour,
# clockwise from the top-left.
_LBP_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def to_gray(frame_HxWxC):
  """Mean over channels, float32 H x W."""
  return jnp.mean(jnp.asarray(frame_HxWxC, jnp.float32), axis=-1)


def lbp_codes(gray_HxW):
  """LBP(8, 1) codes 0..255 of the interior pixels, (H-2) x (W-2) int32:
  bit k set when neighbour k >= centre."""
  g = jnp.asarray(gray_HxW, jnp.float32)
  H, W = g.shape
  c = g[1:H - 1, 1:W - 1]
  code = jnp.zeros(c.shape, jnp.int32)
  for k, (dy, dx) in enumerate(_LBP_OFFSETS):
    n = g[1 + dy:H - 1 + dy, 1 + dx:W - 1 + dx]
    code = code | ((n >= c).astype(jnp.int32) << k)
  return code


def _roi_slices(shape_hw, rois):
  H, W = shape_hw
  out = []
  for y0, y1, x0, x1 in rois.values():
    ys = slice(int(round(y0 * H)), max(int(round(y1 * H)), int(round(y0 * H)) + 1))
    xs = slice(int(round(x0 * W)), max(int(round(x1 * W)), int(round(x0 * W)) + 1))
    out.append((ys, xs))
  return out


def roi_histograms(frame_HxWxC, rois=None):
  """L2-normalised 256-bin LBP histograms of each RoI, R x 256 float32."""
  rois = DEFAULT_ROIS if rois is None else rois
  codes = lbp_codes(to_gray(frame_HxWxC))
  hists = []
  for ys, xs in _roi_slices(codes.shape, rois):
    h = jnp.bincount(codes[ys, xs].ravel(), length=256).astype(jnp.float32)
    hists.append(h / jnp.maximum(jnp.linalg.norm(h), 1e-12))
  return jnp.stack(hists)


def feature_difference(frames_TxHxWxC, onset_index=0, rois=None,
                       combine: str = "max"):
  """1 - cos(h_onset, h_j) per frame, combined over RoIs: T float32."""
  h_TxRxB = jax.vmap(lambda f: roi_histograms(f, rois))(frames_TxHxWxC)
  h0 = jnp.take(h_TxRxB, onset_index, axis=0)
  d_TxR = 1 - jnp.sum(h_TxRxB * h0[None], axis=-1)
  if combine == "max":
    return jnp.max(d_TxR, axis=-1)
  if combine == "sum":
    return jnp.sum(d_TxR, axis=-1)
  raise ValueError(f"combine '{combine}' not in ('max', 'sum')")


def divide_and_conquer_peak(scores_T, length=None, min_len: int = 3):
  """D&C search over frames 1..length-1 (0-based; onset excluded): keep the
  half with the larger mean score until <= min_len frames, then argmax."""
  T = scores_T.shape[0]
  L = jnp.asarray(T if length is None else length, jnp.int32)
  idx = jnp.arange(T)
  s = jnp.where(idx < L, scores_T.astype(jnp.float32), 0.)
  cs = jnp.concatenate([jnp.zeros(1, jnp.float32), jnp.cumsum(s)])

  def cond(state):
    lo, hi = state
    return hi - lo + 1 > min_len

  def body(state):
    lo, hi = state
    mid = (lo + hi + 1) // 2               # left = lo..mid-1, right = mid..hi
    left = (cs[mid] - cs[lo]) / (mid - lo)
    right = (cs[hi + 1] - cs[mid]) / (hi + 1 - mid)
    return jnp.where(left >= right, lo, mid), jnp.where(left >= right, mid - 1, hi)

  lo0 = jnp.minimum(1, L - 1)
  lo, hi = jax.lax.while_loop(cond, body, (lo0, L - 1))
  masked = jnp.where((idx >= lo) & (idx <= hi), s, -jnp.inf)
  return jnp.argmax(masked).astype(jnp.int32)


def spot_apex(frames_TxHxWxC, length=None, onset_index=0, rois=None,
              combine: str = "max", method: str = "dc", min_len: int = 3):
  """0-based apex of the first `length` frames by D&C-RoIs.

  method: "dc" (divide and conquer, default) or "argmax" (largest difference
  after the onset). Returns (apex int32, scores T float32).
  """
  T = frames_TxHxWxC.shape[0]
  L = T if length is None else length
  scores = feature_difference(frames_TxHxWxC, onset_index, rois, combine)
  scores = jnp.where(jnp.arange(T) < L, scores, 0.)
  if method == "dc":
    return divide_and_conquer_peak(scores, L, min_len), scores
  if method == "argmax":
    masked = jnp.where((jnp.arange(T) >= 1) & (jnp.arange(T) < L), scores, -jnp.inf)
    return jnp.where(L > 1, jnp.argmax(masked), 0).astype(jnp.int32), scores
  raise ValueError(f"apex method '{method}' not in ('dc', 'argmax')")


def middle_frame(onset, offset):
  """(onset + offset) // 2, as Clip.apex_or_middle."""
  return (onset + offset) // 2
