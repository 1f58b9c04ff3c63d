"""LBP-TOP codes and histograms against an independent numpy implementation written from
the definition (per-voxel loops, float64 bilinear interpolation), bit for bit."""

import numpy as np
import pytest

from merjax.baselines import lbp_top
from merjax.errors import MerjaxError


def ref_offsets(ra, rb, P):
  """Neighbour p at (ra cos(2 pi p/P), -rb sin(2 pi p/P)), each rounded to 1/64 pixel."""
  out = []
  for p in range(P):
    angle = 2.0 * np.pi * p / P
    out.append((round(ra * np.cos(angle) * 64) / 64.0, round(-rb * np.sin(angle) * 64) / 64.0))
  return out


def ref_sample(img, a, b):
  """Bilinear value of img[b, a] (a horizontal, b vertical), float64."""
  a0, b0 = int(np.floor(a)), int(np.floor(b))
  fa, fb = a - a0, b - b0
  value = 0.0
  for da, wa in ((0, 1 - fa), (1, fa)):
    for db, wb in ((0, 1 - fb), (1, fb)):
      if wa * wb:
        value += wa * wb * float(img[b0 + db, a0 + da])
  return value


def ref_is_uniform(code, P):
  bits = [(code >> p) & 1 for p in range(P)]
  return sum(bits[p] != bits[(p + 1) % P] for p in range(P)) <= 2


def ref_codes(V, radius, neighbours):
  """{plane: T' x H' x W' codes}, one voxel and one neighbour at a time."""
  rx, ry, rt = radius
  T, H, W = V.shape
  out = {}
  for plane, P in zip(("XY", "XT", "YT"), neighbours):
    ra, rb = {"XY": (rx, ry), "XT": (rx, rt), "YT": (ry, rt)}[plane]
    offsets = ref_offsets(ra, rb, P)
    codes = np.zeros((T - 2 * rt, H - 2 * ry, W - 2 * rx), np.int64)
    for t in range(rt, T - rt):
      for y in range(ry, H - ry):
        for x in range(rx, W - rx):
          if plane == "XY":
            img, a, b = V[t], x, y
          elif plane == "XT":
            img, a, b = V[:, y, :], x, t
          else:
            img, a, b = V[:, :, x], y, t
          code = 0
          for p, (da, db) in enumerate(offsets):
            if ref_sample(img, a + da, b + db) >= float(V[t, y, x]):
              code += 2 ** p
          codes[t - rt, y - ry, x - rx] = code
    out[plane] = codes
  return out


def ref_features(V, radius, neighbours, grid, mapping):
  """Concatenated per-block, per-plane histograms / block voxel count (float32)."""
  plane_codes = ref_codes(V, radius, neighbours)
  rows, cols, times = grid
  feats = []
  for y_block in np.array_split(np.arange(plane_codes["XY"].shape[1]), rows):
    for x_block in np.array_split(np.arange(plane_codes["XY"].shape[2]), cols):
      for t_block in np.array_split(np.arange(plane_codes["XY"].shape[0]), times):
        for plane, P in zip(("XY", "XT", "YT"), neighbours):
          block = plane_codes[plane][np.ix_(t_block, y_block, x_block)].ravel()
          if mapping == "uniform":
            uniform = [c for c in range(2 ** P) if ref_is_uniform(c, P)]
            bins = np.array([uniform.index(c) if c in uniform else len(uniform)
                             for c in block])
            nbins = len(uniform) + 1
          else:
            bins, nbins = block, 2 ** P
          feats.append(np.bincount(bins, minlength=nbins) / float(block.size))
  return np.concatenate(feats).astype(np.float32)


def volume(seed, shape, levels=256):
  """Random grey volume with flat patches (ties between neighbour and centre)."""
  rng = np.random.default_rng(seed)
  V = rng.integers(0, levels, size=shape)
  V[:, :2, :3] = 7
  return V.astype(np.uint8)


CASES = [  # radius (x, y, t), neighbours (XY, XT, YT), grid (rows, cols, times), mapping
    ((1, 1, 1), (8, 8, 8), (2, 2, 1), "uniform"),
    ((2, 1, 1), (8, 4, 4), (1, 2, 2), "uniform"),
    ((1, 2, 2), (4, 8, 12), (2, 1, 1), "uniform"),
    ((3, 3, 1), (16, 8, 8), (1, 1, 1), "uniform"),
    ((1, 1, 2), (8, 6, 8), (2, 3, 1), "none"),
]


@pytest.mark.parametrize("radius,neighbours,grid,mapping", CASES)
def test_codes_and_features_equal_reference(radius, neighbours, grid, mapping):
  V = volume(sum(radius) + sum(neighbours), (7, 9, 10), levels=4 if mapping == "none" else 256)
  got = lbp_top.codes(V, radius, neighbours)
  want = ref_codes(V, radius, neighbours)
  for plane in lbp_top.PLANES:
    np.testing.assert_array_equal(np.asarray(got[plane]), want[plane], err_msg=plane)
  feats = lbp_top.lbp_top_features(np.stack([V, V[:, ::-1]]), radius, neighbours, grid,
                                   mapping, batch_size=4)
  assert feats.shape == (2, lbp_top.feature_size(neighbours, grid, mapping))
  assert feats.tobytes() == ref_features(V, radius, neighbours, grid, mapping).tobytes() \
      + ref_features(V[:, ::-1], radius, neighbours, grid, mapping).tobytes()


def test_hand_computed_codes():
  """A vertical ramp: in XY every neighbour at or below the centre row is >= it; a volume
  constant in time gives all-ones XT/YT codes (every neighbour equals the centre)."""
  V = np.repeat(np.repeat(np.arange(5)[None, :, None] * 10, 3, 0), 5, 2)   # V[t, y, x] = 10 y
  got = lbp_top.codes(V, (1, 1, 1), (4, 4, 4))
  # P = 4: p=0 right (same row), 1 up (smaller), 2 left (same row), 3 down (larger).
  assert set(np.asarray(got["XY"]).ravel()) == {0b1101}
  assert set(np.asarray(got["XT"]).ravel()) == {0b1111}
  assert lbp_top.num_bins(8, "uniform") == 59
  table = lbp_top.mapping_table(8, "uniform")
  assert table[0] == 0 and table[255] == 57 and table[0b00010001] == 58


def test_too_small_volume_is_named():
  with pytest.raises(MerjaxError, match="radius"):
    lbp_top.lbp_top_features(np.zeros((1, 3, 8, 8)), (1, 1, 2), (8, 8, 8), (1, 1, 1))
