"""Frame preprocessing: grayscale, histogram equalisation, resize, face crop,
temporal normalisation.

Pixel ops on uint8 are jnp and bit-exact with OpenCV (`equalize_hist` ==
cv2.equalizeHist, `rgb_to_gray` == cv2.cvtColor RGB2GRAY). Face detection and
cropping run on the host with OpenCV (Haar cascades).
"""

from __future__ import annotations

import logging
import os

import jax
import jax.numpy as jnp
import numpy as np

from merjax.errors import MerjaxError

logger = logging.getLogger("merjax.modalities.preprocess")

# "fdp_offsets": the FDP sampling with every start offset staged (`offset_windows`), the
# trainer drawing one per training visit and using offset 0 at test (docs/fdp.md).
TEMPORAL_MODES = ("linspace", "fdp", "fdp_offsets")


# ---------------------------------------------------------------- pixels (jnp)


@jax.jit
def equalize_hist(image_HxW):
  """cv2.equalizeHist on a uint8 H x W image, in jnp (bit-exact).

  lut[v] = round_half_even(float32(cdf(v) - hist[vmin]) * float32(255 /
  (N - hist[vmin]))) with vmin the lowest occurring value; a constant image
  stays constant (OpenCV sets it to vmin).
  """
  x = jnp.asarray(image_HxW).astype(jnp.int32)
  total = x.size
  hist = jnp.bincount(x.ravel(), length=256)
  vmin = jnp.argmax(hist > 0)
  hmin = hist[vmin]
  cdf = jnp.cumsum(hist)
  scale = jnp.float32(255.) / jnp.maximum(total - hmin, 1).astype(jnp.float32)
  lut = jnp.round((cdf - hmin).astype(jnp.float32) * scale)
  lut = jnp.clip(lut, 0, 255).astype(jnp.uint8)
  out = lut[x]
  return jnp.where(hmin == total, vmin.astype(jnp.uint8), out)


def equalize_frames(frames_TxHxWxC):
  """equalize_hist on every frame and channel of uint8 T x H x W x C."""
  f = jnp.asarray(frames_TxHxWxC)
  per_channel = jax.vmap(equalize_hist, in_axes=-1, out_axes=-1)
  return jax.jit(jax.vmap(per_channel))(f)


@jax.jit
def rgb_to_gray(image_HxWx3):
  """cv2.cvtColor(RGB2GRAY) on uint8 (OpenCV 5's 15-bit fixed point
  9798 R + 19235 G + 3735 B, rounded; bit-exact with this build),
  keeps a trailing channel axis: ... x H x W x 1."""
  x = jnp.asarray(image_HxWx3).astype(jnp.int32)
  y = (x[..., 0] * 9798 + x[..., 1] * 19235 + x[..., 2] * 3735 + (1 << 14)) >> 15
  return y.astype(jnp.uint8)[..., None]


def resize(image_HxWxC, size: int, method: str = "linear"):
  """jax.image.resize to size x size (in-graph use; the stage resizes on the
  host with cv2 INTER_AREA)."""
  x = jnp.asarray(image_HxWxC, jnp.float32)
  return jax.image.resize(x, x.shape[:-3] + (size, size, x.shape[-1]), method)


def resize_frames_cv2(frames_TxHxWxC: np.ndarray, size: int) -> np.ndarray:
  """cv2.resize(INTER_AREA) of every frame to size x size, uint8 kept."""
  import cv2  # pylint: disable=import-outside-toplevel
  frames_TxHxWxC = np.asarray(frames_TxHxWxC)
  if frames_TxHxWxC.shape[1:3] == (size, size):
    return frames_TxHxWxC
  c = frames_TxHxWxC.shape[-1]
  return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA)
                   .reshape(size, size, c) for f in frames_TxHxWxC])


# ---------------------------------------------------------------- temporal


def sample_indices(length: int, T: int, mode: str = "linspace",
                   rng: np.random.Generator | None = None) -> np.ndarray:
  """T frame indices into a clip of `length` frames (repeats when length < T).

  linspace (default): round(linspace(0, length - 1, T)), keeps first and last.
  fdp: step = length // T, indices start + k * step (FDP's data.py, start 0);
    with `rng`, start is drawn uniformly from the slack once (per clip).
    length < T falls back to linspace.
  fdp_offsets: as fdp; these are the offset-0 indices (the test view of
    `offset_windows`, which holds every offset).
  """
  if length < 1 or T < 1:
    raise MerjaxError(f"sample_indices: length {length}, T {T} must be >= 1")
  if mode not in TEMPORAL_MODES:
    raise MerjaxError(f"temporal mode '{mode}' not in {TEMPORAL_MODES}")
  if mode in ("fdp", "fdp_offsets") and length >= T:
    step = length // T
    start = int(rng.integers(0, fdp_num_offsets(length, T))) if rng is not None else 0
    return start + step * np.arange(T)
  return np.round(np.linspace(0, length - 1, T)).astype(np.int64)


def fdp_num_offsets(length: int, T: int) -> int:
  """Number of start offsets of FDP's sampling (step = length // T, indices start +
  k * step inside the clip): length - (T - 1) * step; 1 when length < T (linspace)."""
  if length < T:
    return 1
  return length - (T - 1) * (length // T)


def offset_indices(length: int, T: int, num_offsets: int) -> tuple[np.ndarray, np.ndarray]:
  """(idx_TxM, valid_M), M = num_offsets >= fdp_num_offsets(length, T): column j holds the
  T indices of start offset j (`sample_indices(length, T, "fdp")` shifted by j); columns
  past the clip's own offsets repeat column 0 and are marked invalid."""
  own = fdp_num_offsets(length, T)
  if num_offsets < own:
    raise MerjaxError(f"offset_indices: {num_offsets} columns for a clip with {own} offsets")
  base_T = sample_indices(length, T, "fdp")
  starts_M = np.where(np.arange(num_offsets) < own, np.arange(num_offsets), 0)
  return base_T[:, None] + starts_M[None, :], np.arange(num_offsets) < own


def offset_windows(segment_LxHxWxC: np.ndarray, T: int, num_offsets: int) -> np.ndarray:
  """Every FDP sampling of one clip: float32 T x M x H x W x C in [0, 1] (uint8 / 255), M =
  num_offsets; [:, j] is the T frames at start offset j, [:, 0] the test view; columns past
  the clip's own offsets are NaN (never drawn: merjax/training/trainer.py draws uniformly
  among the finite ones, once per training visit)."""
  seg = np.asarray(segment_LxHxWxC)
  idx_TxM, valid_M = offset_indices(seg.shape[0], T, num_offsets)
  out = seg[idx_TxM].astype(np.float32) / 255.0
  out[:, ~valid_M] = np.nan
  return out


def first_offset(windows_NxTxMx___: np.ndarray) -> np.ndarray:
  """The offset-0 (test) view N x T x ... of staged offset windows N x T x M x ..."""
  return windows_NxTxMx___[:, :, 0]


def nearest_index(indices: np.ndarray, frame: int) -> int:
  """Position in `indices` of the sampled frame nearest to `frame`."""
  return int(np.argmin(np.abs(np.asarray(indices) - frame)))


# ---------------------------------------------------------------- faces (host)


def default_cascade_path(name: str = "haarcascade_frontalface_default.xml") -> str:
  """OpenCV's bundled cascade file (cv2.data.haarcascades + name)."""
  import cv2  # pylint: disable=import-outside-toplevel
  return os.path.join(getattr(getattr(cv2, "data", None), "haarcascades", ""), name)


def load_cascade(path: str | None = None, name: str = "haarcascade_frontalface_default.xml"):
  """cv2.CascadeClassifier from `path` (default: the bundled one).

  Raises MerjaxError when the file is missing: some OpenCV wheels (e.g.
  opencv-contrib-python-headless 5.0) ship no cascades; pass
  preprocess["cascade_path"] to a local copy then.
  """
  import cv2  # pylint: disable=import-outside-toplevel
  path = path or default_cascade_path(name)
  if not os.path.isfile(path):
    raise MerjaxError(f"{path}: Haar cascade not found (this OpenCV build ships none); "
                      f"set preprocess 'cascade_path' / 'eye_cascade_path'")
  cascade = cv2.CascadeClassifier(path)
  if cascade.empty():
    raise MerjaxError(f"{path}: not a loadable Haar cascade")
  return cascade


def haar_detector(cascade, scale_factor=1.1, min_neighbors=5):
  """gray uint8 H x W -> list of (x, y, w, h) boxes from a cv2 cascade."""
  def detect(gray_HxW):
    boxes = cascade.detectMultiScale(np.ascontiguousarray(gray_HxW),
                                     scaleFactor=scale_factor, minNeighbors=min_neighbors)
    return [tuple(int(v) for v in b) for b in boxes]
  return detect


def _gray_np(frame_HxWxC):
  f = np.asarray(frame_HxWxC)
  return np.asarray(rgb_to_gray(f))[..., 0] if f.shape[-1] == 3 else f[..., 0]


def square_box(box, margin: float, shape_hw) -> tuple[int, int, int]:
  """(x, y, w, h) -> square (x0, y0, side) around its centre, enlarged by
  `margin` of the larger side on each side (may extend past the image)."""
  x, y, w, h = box
  side = int(round(max(w, h) * (1 + 2 * margin)))
  cx, cy = x + w / 2, y + h / 2
  return int(round(cx - side / 2)), int(round(cy - side / 2)), side


def crop_square(frame_HxWxC, x0, y0, side):
  """Crop with replicated borders where the square leaves the image."""
  import cv2  # pylint: disable=import-outside-toplevel
  f = np.asarray(frame_HxWxC)
  H, W = f.shape[:2]
  pad = max(0, -x0, -y0, x0 + side - W, y0 + side - H)
  if pad:
    f = cv2.copyMakeBorder(f, pad, pad, pad, pad, cv2.BORDER_REPLICATE).reshape(
        H + 2 * pad, W + 2 * pad, -1)
  return f[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side]


def eye_angle(eye_centres) -> float:
  """Degrees to rotate so the line through two eye centres is horizontal."""
  (x1, y1), (x2, y2) = sorted(eye_centres)
  return float(np.degrees(np.arctan2(y2 - y1, x2 - x1)))


def crop_faces(frames_TxHxWxC: np.ndarray, *, margin: float = 0.1,
               align_eyes: bool = False, cascade_path: str | None = None,
               eye_cascade_path: str | None = None, detector=None,
               eye_detector=None) -> np.ndarray:
  """Detects the face on the first frame and crops every frame with that box.

  One box per clip keeps the frames registered (per-frame boxes jitter).
  align_eyes: detects two eyes in the upper half of the face box and rotates
  every frame about the face centre so the eye line is horizontal (skipped
  with a logged warning when fewer than two eyes are found).
  detector / eye_detector: callables gray H x W -> [(x, y, w, h)], default the
  OpenCV Haar cascades. No face: the whole frame is kept (logged warning).
  Returns uint8 T x S x S x C (S = square side in pixels).
  """
  import cv2  # pylint: disable=import-outside-toplevel
  frames = np.asarray(frames_TxHxWxC)
  H, W = frames.shape[1:3]
  detector = detector or haar_detector(load_cascade(cascade_path))
  gray = _gray_np(frames[0])
  boxes = detector(gray)
  if not boxes:
    logger.warning("crop_faces: no face found; keeping the whole frame")
    side = min(H, W)
    return np.stack([crop_square(f, (W - side) // 2, (H - side) // 2, side) for f in frames])
  box = max(boxes, key=lambda b: b[2] * b[3])
  x0, y0, side = square_box(box, margin, (H, W))
  if align_eyes:
    eye_detector = eye_detector or haar_detector(
        load_cascade(eye_cascade_path, "haarcascade_eye.xml"), min_neighbors=3)
    x, y, w, h = box
    upper = gray[max(y, 0):max(y, 0) + h // 2, max(x, 0):max(x, 0) + w]
    eyes = sorted(eye_detector(upper), key=lambda b: -b[2] * b[3])[:2]
    if len(eyes) == 2:
      centres = [(max(x, 0) + ex + ew / 2, max(y, 0) + ey + eh / 2) for ex, ey, ew, eh in eyes]
      rot = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), eye_angle(centres), 1.0)
      c = frames.shape[-1]
      frames = np.stack([cv2.warpAffine(f, rot, (W, H), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REPLICATE).reshape(H, W, c)
                         for f in frames])
    else:
      logger.warning("crop_faces: %d eye(s) found; not aligning", len(eyes))
  return np.stack([crop_square(f, x0, y0, side) for f in frames])
