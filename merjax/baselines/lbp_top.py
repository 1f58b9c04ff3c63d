"""LBP-TOP (Zhao & Pietikainen 2007): uniform LBP histograms on the XY, XT and YT planes.

A grey volume V[t, y, x] (T x H x W, grey levels 0..255). In each plane (a, b) -- XY: a = x,
b = y; XT: a = x, b = t; YT: a = y, b = t -- neighbour p = 0..P-1 of a centre sits at
(a + Ra cos(2 pi p / P), b - Rb sin(2 pi p / P)), its grey value bilinearly interpolated, and
bit p of the centre's code is 1 when that value >= the centre's. Each offset is rounded to
1 / 2^FRAC_BITS pixel, so the interpolation is exact integer arithmetic (no float ties can
flip a bit). Centres are the voxels whose neighbours all lie inside the volume (R away from
every border). The codes of each plane are mapped (`uniform`: the P(P-1)+2 codes with at most
two circular 0/1 transitions get one bin each, in code order, every other code the last bin;
`none`: 2^P bins), and histogrammed per block of a rows x cols x times grid over the centres
(block sizes as np.array_split: the first blocks one larger), each histogram divided by its
block's voxel count. Feature layout: block (row, col, time; time fastest), then plane
(XY, XT, YT), then bin.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from merjax.errors import MerjaxError

FRAC_BITS = 6              # neighbour offsets in 1/64 pixel
PLANES = ("XY", "XT", "YT")
MAPPINGS = ("uniform", "none")


def circle_offsets(radius_a: int, radius_b: int, neighbours: int) -> np.ndarray:
  """P x 2 int64 offsets (da, db) of the neighbours in 1 / 2^FRAC_BITS pixel units."""
  scale = float(1 << FRAC_BITS)
  theta_P = 2 * np.pi * np.arange(neighbours) / neighbours
  da = np.round(radius_a * np.cos(theta_P) * scale)
  db = np.round(-radius_b * np.sin(theta_P) * scale)
  return np.stack([da, db], 1).astype(np.int64)


def num_bins(neighbours: int, mapping: str) -> int:
  return neighbours * (neighbours - 1) + 3 if mapping == "uniform" else 1 << neighbours


@functools.cache
def mapping_table(neighbours: int, mapping: str) -> np.ndarray:
  """int32 table of 2^P entries: code -> histogram bin."""
  codes = np.arange(1 << neighbours, dtype=np.int64)
  if mapping == "none":
    return codes.astype(np.int32)
  rotated = ((codes >> 1) | ((codes & 1) << (neighbours - 1)))
  transitions = np.zeros_like(codes)
  diff = codes ^ rotated
  for p in range(neighbours):
    transitions += (diff >> p) & 1
  uniform = transitions <= 2
  table = np.full(codes.shape, int(uniform.sum()), np.int64)
  table[uniform] = np.arange(int(uniform.sum()))
  return table.astype(np.int32)


def block_sizes(n: int, k: int) -> list[int]:
  """Sizes of k blocks over n items, as np.array_split (first n % k blocks one larger)."""
  return [n // k + 1] * (n % k) + [n // k] * (k - n % k)


def _block_ids(shape_txhxw, grid) -> np.ndarray:
  """T' x H' x W' int32 block index (row, col, time; time fastest) of every centre."""
  rows, cols, times = grid
  Tc, Hc, Wc = shape_txhxw
  by = np.repeat(np.arange(rows), block_sizes(Hc, rows))
  bx = np.repeat(np.arange(cols), block_sizes(Wc, cols))
  bt = np.repeat(np.arange(times), block_sizes(Tc, times))
  return ((by[None, :, None] * cols + bx[None, None, :]) * times
          + bt[:, None, None]).astype(np.int32)


def check_volume(shape_txhxw, radius, grid, where: str = "lbp_top") -> tuple[int, int, int]:
  """The centre region's T' x H' x W'; MerjaxError when a radius or the grid does not fit."""
  rx, ry, rt = radius
  T, H, W = shape_txhxw
  centre = (T - 2 * rt, H - 2 * ry, W - 2 * rx)
  rows, cols, times = grid
  if min(centre) < 1 or centre[0] < times or centre[1] < rows or centre[2] < cols:
    raise MerjaxError(f"{where}: a T x H x W = {T} x {H} x {W} volume leaves {centre[0]} x "
                      f"{centre[1]} x {centre[2]} centres for radius (x, y, t) = {tuple(radius)}, "
                      f"too few for the {rows} x {cols} x {times} grid (more frames: "
                      f"data.preprocess.frames_T, or a smaller model.radius / model.grid)")
  return centre


def _plane_codes(V_TxHxW, radius, neighbours: int, plane: str):
  """int32 T' x H' x W' LBP codes of one plane at every centre (exact integer interpolation)."""
  rx, ry, rt = radius
  T, H, W = V_TxHxW.shape
  axes = {"XY": (2, 1), "XT": (2, 0), "YT": (1, 0)}[plane]   # (a, b) as axes t=0, y=1, x=2
  radii = {"XY": (rx, ry), "XT": (rx, rt), "YT": (ry, rt)}[plane]
  lo = (rt, ry, rx)
  size = (T - 2 * rt, H - 2 * ry, W - 2 * rx)
  unit = 1 << FRAC_BITS

  def shifted(d):
    start = [lo[i] + d[i] for i in range(3)]
    return jax.lax.slice(V_TxHxW, start, [start[i] + size[i] for i in range(3)])

  centre = shifted((0, 0, 0)) * (unit * unit)
  code = jnp.zeros(size, jnp.int32)
  for p, (da, db) in enumerate(circle_offsets(*radii, neighbours)):
    ia, fa = divmod(int(da), unit)
    ib, fb = divmod(int(db), unit)
    value = jnp.zeros(size, jnp.int32)
    for ca, wa in ((0, unit - fa), (1, fa)):
      for cb, wb in ((0, unit - fb), (1, fb)):
        if wa * wb == 0:
          continue
        d = [0, 0, 0]
        d[axes[0]], d[axes[1]] = ia + ca, ib + cb
        value = value + (wa * wb) * shifted(d)
    code = code | ((value >= centre).astype(jnp.int32) << p)
  return code


def codes(V_TxHxW, radius=(1, 1, 1), neighbours=(8, 8, 8)) -> dict[str, jax.Array]:
  """{plane: int32 T' x H' x W' codes} of an int grey volume (radius = (Rx, Ry, Rt),
  neighbours = (P_XY, P_XT, P_YT))."""
  V = jnp.asarray(V_TxHxW, jnp.int32)
  return {plane: _plane_codes(V, tuple(radius), int(P), plane)
          for plane, P in zip(PLANES, neighbours)}


def histograms(V_TxHxW, radius=(1, 1, 1), neighbours=(8, 8, 8), grid=(1, 1, 1),
               mapping: str = "uniform") -> jax.Array:
  """int32 B x 3 x K' block histograms (counts) of one volume; planes with fewer bins are
  zero-padded to the largest K'. jit/vmap-able (shapes and settings static)."""
  plane_codes = codes(V_TxHxW, radius, neighbours)
  shape = next(iter(plane_codes.values())).shape
  ids = jnp.asarray(_block_ids(shape, grid).ravel())
  B = int(np.prod(grid))
  K = max(num_bins(P, mapping) for P in neighbours)
  out = []
  for plane, P in zip(PLANES, neighbours):
    bins = jnp.asarray(mapping_table(int(P), mapping))[plane_codes[plane].ravel()]
    out.append(jnp.zeros((B, K), jnp.int32).at[ids, bins].add(1))
  return jnp.stack(out, 1)


def features_from_histograms(hist_BxPxK, shape_txhxw, radius, neighbours, grid,
                             mapping: str) -> np.ndarray:
  """float32 feature vector: each block histogram / its voxel count, padding bins dropped."""
  centre = check_volume(shape_txhxw, radius, grid)
  ids = _block_ids(centre, grid)
  count_B = np.bincount(ids.ravel(), minlength=int(np.prod(grid))).astype(np.float64)
  hist = np.asarray(hist_BxPxK, np.float64) / count_B[:, None, None]
  parts = [hist[..., i, :num_bins(int(P), mapping)] for i, P in enumerate(neighbours)]
  lead = hist.shape[:-3]
  return np.concatenate(parts, -1).reshape(lead + (-1,)).astype(np.float32)


@functools.partial(jax.jit, static_argnames=("radius", "neighbours", "grid", "mapping"))
def _batch_histograms(V_NxTxHxW, radius, neighbours, grid, mapping):
  return jax.vmap(lambda v: histograms(v, radius, neighbours, grid, mapping))(V_NxTxHxW)


def lbp_top_features(volumes_NxTxHxW, radius=(1, 1, 1), neighbours=(8, 8, 8), grid=(1, 1, 1),
                     mapping: str = "uniform", batch_size: int = 32) -> np.ndarray:
  """float32 N x D LBP-TOP features of N grey volumes (integer values 0..255), vmapped over
  clips in batches of `batch_size` (the last padded, so one compilation)."""
  V = np.asarray(volumes_NxTxHxW)
  if V.ndim != 4:
    raise MerjaxError(f"lbp_top: volumes must be N x T x H x W, got shape {V.shape}")
  if mapping not in MAPPINGS:
    raise MerjaxError(f"lbp_top: mapping {mapping!r} is not one of {', '.join(MAPPINGS)}")
  check_volume(V.shape[1:], radius, grid)
  settings = dict(radius=tuple(int(r) for r in radius),
                  neighbours=tuple(int(p) for p in neighbours),
                  grid=tuple(int(g) for g in grid), mapping=mapping)
  N, B = len(V), max(1, min(int(batch_size), len(V)))
  hists = []
  for start in range(0, N, B):
    chunk = V[start:start + B].astype(np.int32)
    pad = B - len(chunk)
    if pad:
      chunk = np.concatenate([chunk, np.zeros((pad,) + chunk.shape[1:], np.int32)])
    hists.append(np.asarray(_batch_histograms(jnp.asarray(chunk), **settings))[:B - pad])
  return features_from_histograms(np.concatenate(hists), V.shape[1:], **settings)


def feature_size(neighbours, grid, mapping: str) -> int:
  return math.prod(grid) * sum(num_bins(int(P), mapping) for P in neighbours)
