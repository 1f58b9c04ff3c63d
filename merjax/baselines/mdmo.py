"""MDMO (Liu et al. 2016): main directional mean optical flow over a grid of ROIs.

Per flow field (H x W x 2, u = x, v = y displacement in pixels, image axes: y down) and
per ROI (a fixed rows x cols grid over the frame, block sizes as np.array_split; not the
paper's 36 landmark ROIs, docs/baselines.md): every vector's magnitude rho and orientation
theta = atan2(v, u) in [0, 2 pi) (so pi/2 points down the image); the orientation bins are
[2 pi k / K, 2 pi (k+1) / K), k = 0..K-1; the main direction is the bin with most vectors
(ties: the lowest bin), and the ROI's pair is the mean rho and the mean theta of the vectors
in that bin. The clip's feature is the mean of those pairs over its flow fields, with rho
divided by its largest value over the ROIs (`normalize_magnitude`, the paper's normalised
MDMO; a clip without motion keeps zeros). Layout: ROI (row-major), then (rho, theta).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from merjax.baselines.lbp_top import block_sizes
from merjax.errors import MerjaxError

FLOWS = ("onset", "consecutive", "onset_apex")


def roi_ids(height: int, width: int, grid) -> np.ndarray:
  """H x W int32 ROI index (row-major over the rows x cols grid) of every pixel."""
  rows, cols = grid
  if height < rows or width < cols:
    raise MerjaxError(f"mdmo: a {height} x {width} flow field is smaller than the "
                      f"{rows} x {cols} ROI grid (model.grid)")
  by = np.repeat(np.arange(rows), block_sizes(height, rows))
  bx = np.repeat(np.arange(cols), block_sizes(width, cols))
  return (by[:, None] * cols + bx[None, :]).astype(np.int32)


def main_directions(flow_HxWx2, ids_HxW, num_rois: int, bins: int = 8):
  """(rho_R, theta_R, bin_R): mean magnitude and orientation of the vectors in each ROI's
  most populated orientation bin, and that bin. jit/vmap-able."""
  u, v = flow_HxWx2[..., 0].ravel(), flow_HxWx2[..., 1].ravel()
  rho = jnp.sqrt(u * u + v * v)
  theta = jnp.mod(jnp.arctan2(v, u), 2 * jnp.pi)
  b = jnp.clip(jnp.floor(theta / (2 * jnp.pi / bins)).astype(jnp.int32), 0, bins - 1)
  ids = jnp.asarray(ids_HxW).ravel()
  count_RxK = jnp.zeros((num_rois, bins), jnp.float32).at[ids, b].add(1.0)
  main_R = jnp.argmax(count_RxK, axis=1)
  in_main = (b == main_R[ids]).astype(jnp.float32)
  n_R = jnp.zeros(num_rois, jnp.float32).at[ids].add(in_main)
  rho_R = jnp.zeros(num_rois, jnp.float32).at[ids].add(in_main * rho) / n_R
  theta_R = jnp.zeros(num_rois, jnp.float32).at[ids].add(in_main * theta) / n_R
  return rho_R, theta_R, main_R


@functools.partial(jax.jit, static_argnames=("grid", "bins", "normalize_magnitude"))
def _clip_features(flows_NxPxHxWx2, grid, bins, normalize_magnitude):
  H, W = flows_NxPxHxWx2.shape[2:4]
  ids = roi_ids(H, W, grid)
  R = grid[0] * grid[1]
  per_field = jax.vmap(jax.vmap(lambda f: main_directions(f, ids, R, bins)[:2]))
  rho_NxPxR, theta_NxPxR = per_field(flows_NxPxHxWx2)
  rho_NxR, theta_NxR = rho_NxPxR.mean(1), theta_NxPxR.mean(1)
  if normalize_magnitude:
    top = rho_NxR.max(1, keepdims=True)
    rho_NxR = jnp.where(top > 0, rho_NxR / jnp.where(top > 0, top, 1.0), 0.0)
  return jnp.stack([rho_NxR, theta_NxR], -1).reshape(len(rho_NxR), 2 * R)


def mdmo_features(flows_NxPxHxWx2, grid=(6, 6), bins: int = 8,
                  normalize_magnitude: bool = True, batch_size: int = 32) -> np.ndarray:
  """float32 N x 2R MDMO features of N clips' P flow fields each."""
  flows = np.asarray(flows_NxPxHxWx2, np.float32)
  if flows.ndim != 5 or flows.shape[-1] != 2:
    raise MerjaxError(f"mdmo: flows must be N x P x H x W x 2, got shape {flows.shape}")
  roi_ids(flows.shape[2], flows.shape[3], grid)
  out = []
  for start in range(0, len(flows), batch_size):
    out.append(np.asarray(_clip_features(jnp.asarray(flows[start:start + batch_size]),
                                         tuple(int(g) for g in grid), int(bins),
                                         bool(normalize_magnitude))))
  return np.concatenate(out).astype(np.float32)


def flow_pairs(T: int, flow: str) -> tuple[np.ndarray, np.ndarray]:
  """Frame indices (from, to) of the flow fields of a T-frame segment: `onset` 0 -> t,
  `consecutive` t-1 -> t, t = 1..T-1."""
  to = np.arange(1, T)
  return (np.zeros_like(to) if flow == "onset" else to - 1), to


def sequence_flows(frames_NxTxHxW, flow: str, flow_params=None, batch_size: int = 64,
                   log=None) -> np.ndarray:
  """float32 N x (T-1) x H x W x 2 TV-L1 flows (merjax.modalities.flow) of grey frames in
  [0, 1], between the `flow_pairs` frames."""
  from merjax.modalities import flow as flow_lib  # pylint: disable=import-outside-toplevel
  frames = np.asarray(frames_NxTxHxW, np.float32)
  N, T = frames.shape[:2]
  if T < 2:
    raise MerjaxError(f"mdmo: flow needs at least 2 frames per clip, got {T} "
                      f"(data.preprocess.frames_T)")
  src, dst = flow_pairs(T, flow)
  f0 = frames[:, src].reshape((-1,) + frames.shape[2:])
  f1 = frames[:, dst].reshape((-1,) + frames.shape[2:])
  out = []
  for start in range(0, len(f0), batch_size):
    chunk0, chunk1 = f0[start:start + batch_size], f1[start:start + batch_size]
    pad = batch_size - len(chunk0)
    if pad:   # one compiled shape
      chunk0 = np.concatenate([chunk0, np.repeat(chunk0[-1:], pad, 0)])
      chunk1 = np.concatenate([chunk1, np.repeat(chunk1[-1:], pad, 0)])
    out.append(np.asarray(flow_lib.tvl1_flow_batch(chunk0, chunk1, **dict(flow_params or {})))
               [:batch_size - pad])
    if log is not None:
      log(f"mdmo: flow {min(start + batch_size, len(f0))} / {len(f0)} pairs")
  return np.concatenate(out).reshape((N, T - 1) + frames.shape[2:] + (2,))
