"""A synthetic micro-expression dataset, generated in memory from a seed.

Each subject gets its own drawn face (ellipse shape and size, skin tone,
brightness, texture, hair, eye / brow / nose / mouth placement). A clip is the
subject's neutral face warped by a smooth local displacement field: a sum of
Gaussian-windowed shifts at action-unit (AU) places, chosen by the class and
scaled by a rise-peak-fall intensity curve (0 at onset, 1 at apex, near 0 at
offset). Per-subject gains, a per-subject idiosyncratic extra motion, per-frame
sensor noise and sub-pixel head jitter make the apex frame alone weak evidence
of the class, while onset-to-apex differences and optical flow are strong.

Everything is deterministic from `SyntheticConfig.seed`; subject appearance
depends only on (seed, subject index), a clip only on (seed, subject, clip).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import cv2
import numpy as np

from merjax.data.records import Clip
from merjax.errors import MerjaxError

# Class order; the first `num_classes` are used.
CLASS_NAMES = ("happiness", "disgust", "surprise", "repression", "others",
               "sadness", "fear")

# Class -> (AU code, relative weight) of its motion.
CLASS_MOTIONS = {
    "happiness": (("AU6", 0.6), ("AU12", 1.0)),
    "disgust": (("AU9", 1.0), ("AU10", 0.8)),
    "surprise": (("AU1", 1.0), ("AU2", 1.0), ("AU5", 0.4)),
    "repression": (("AU15", 1.0), ("AU24", 0.8)),
    "others": (("AU4", 1.0), ("AU7", 0.6)),
    "sadness": (("AU1", 0.8), ("AU15", 0.8), ("AU17", 1.0)),
    "fear": (("AU2", 0.8), ("AU4", 0.6), ("AU20", 1.0)),
}

# Range of the per-clip random weight of each AU of a class ("others" mixes).
_CLIP_WEIGHT = {"others": (0.3, 1.0)}
_DEFAULT_CLIP_WEIGHT = (0.7, 1.0)


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
  """Sizes and difficulty of the synthetic dataset.

  Attributes:
    num_subjects: subjects "s01".."sNN".
    num_classes: uses the first `num_classes` of CLASS_NAMES (2..7).
    clips_per_subject: clips per subject.
    size: frame height = width in pixels.
    min_frames, max_frames: clip length range (inclusive), drawn per clip.
    motion_px: typical peak displacement in pixels; a clip's peak class
      motion lies in [0.5, 1.5] * motion_px (1-3 px by default).
    noise_std: per-frame Gaussian sensor noise, grey levels.
    jitter_px: std of the per-frame rigid head translation, pixels.
    imbalance: ratio of the most to the least frequent class (1 = balanced);
      class frequencies fall geometrically in CLASS_NAMES order.
    withhold_apex: store apex=None (like SMIC); the motion still peaks.
    seed: seed of everything.
  """
  num_subjects: int = 16
  num_classes: int = 5
  clips_per_subject: int = 12
  size: int = 128
  min_frames: int = 20
  max_frames: int = 40
  motion_px: float = 2.0
  noise_std: float = 2.0
  jitter_px: float = 0.3
  imbalance: float = 1.0
  withhold_apex: bool = False
  seed: int = 0


@dataclasses.dataclass(frozen=True)
class ClipPlan:
  """Everything random about one clip, before rendering.

  Attributes:
    subject_index, clip_index, label_index: ints.
    num_frames, onset, apex, offset: timing (apex always set here).
    intensity_T: motion intensity per frame, 0 at onset, 1 at apex.
    class_Mx5: class motion components (x, y, sigma, dx, dy) in pixels; the
      peak of their summed field is the clip's amplitude.
    idio_Mx5: the subject's idiosyncratic extra motion for this clip.
    cap_px: per-pixel cap on the total displacement magnitude.
    jitter_Tx2: rigid head translation (dx, dy) per frame, pixels.
    action_units: AU codes of the class motion.
    noise_seed: seed of the frame noise.
  """
  subject_index: int
  clip_index: int
  label_index: int
  num_frames: int
  onset: int
  apex: int
  offset: int
  intensity_T: np.ndarray
  class_Mx5: np.ndarray
  idio_Mx5: np.ndarray
  cap_px: float
  jitter_Tx2: np.ndarray
  action_units: tuple[str, ...]
  noise_seed: int


# ---------------------------------------------------------------- subjects


def subject_geometry(config: SyntheticConfig, subject_index: int) -> dict:
  """Draws one subject's face layout and colours (pixels, RGB 0..255)."""
  rng = np.random.default_rng([config.seed, 1, subject_index])
  s = float(config.size)
  g = {}
  g["cx"] = s / 2 + rng.normal(0, 0.012 * s)
  g["cy"] = s / 2 + 0.03 * s + rng.normal(0, 0.012 * s)
  g["a"] = s * rng.uniform(0.29, 0.32)               # face half-width
  g["b"] = g["a"] * rng.uniform(1.25, 1.35)          # face half-height
  g["eye_u"] = rng.uniform(0.35, 0.40)               # in units of a / b
  g["eye_v"] = rng.uniform(-0.18, -0.12)
  g["eye_rx"] = g["a"] * rng.uniform(0.13, 0.17)     # pixels
  g["eye_ry"] = g["eye_rx"] * rng.uniform(0.4, 0.52)
  g["brow_v"] = g["eye_v"] - rng.uniform(0.14, 0.17)
  g["brow_thick"] = g["b"] * rng.uniform(0.03, 0.05)
  g["nose_v"] = rng.uniform(0.2, 0.26)
  g["nose_w"] = rng.uniform(0.09, 0.13)
  g["mouth_v"] = rng.uniform(0.48, 0.54)
  g["mouth_w"] = rng.uniform(0.27, 0.32)
  g["lip_up"] = g["b"] * rng.uniform(0.04, 0.06)
  g["lip_low"] = g["b"] * rng.uniform(0.05, 0.08)
  tone = rng.uniform(0, 1)
  skin = (1 - tone) * np.array([236., 200., 172.]) + tone * np.array([120., 80., 58.])
  g["skin"] = skin * rng.uniform(0.85, 1.1) + rng.normal(0, 5, 3)
  g["lip"] = g["skin"] * np.array([0.85, 0.58, 0.6])
  g["hair"] = rng.uniform(15, 110) * np.array([1.0, 0.82, 0.65]) + rng.normal(0, 4, 3)
  g["iris"] = [np.array([90., 55., 30.]), np.array([70., 110., 160.]),
               np.array([80., 110., 70.])][rng.integers(3)]
  g["background"] = rng.uniform(40, 210, 3)
  g["light"] = rng.uniform(0, 2 * np.pi)
  g["light_gain"] = rng.uniform(0.03, 0.12)
  g["blotch_std"] = rng.uniform(3, 7)
  g["grain_std"] = rng.uniform(2.5, 5)
  g["fold_depth"] = rng.uniform(0.1, 0.25)
  g["texture_seed"] = int(rng.integers(2**31))
  return g


def _soft_ellipse(x_W, y_H, x0, y0, rx, ry, edge=1.0):
  """Anti-aliased mask HxW in [0,1] of the ellipse centred (x0, y0)."""
  d = np.sqrt(((x_W[None, :] - x0) / rx) ** 2 + ((y_H[:, None] - y0) / ry) ** 2)
  signed_px = (d - 1) * min(rx, ry)
  return np.clip(0.5 - signed_px / edge, 0, 1)


def _paint(image_HxWx3, mask_HxW, colour):
  """Blends `colour` (3,) or HxWx3 into the image where mask_HxW is 1."""
  m = mask_HxW[..., None]
  image_HxWx3 *= 1 - m
  image_HxWx3 += m * colour


def render_face(geom: dict, size: int) -> np.ndarray:
  """Renders a subject's neutral face as float32 H x W x 3 in 0..255."""
  x_W = np.arange(size, dtype=np.float64)
  y_H = np.arange(size, dtype=np.float64)
  cx, cy, a, b = geom["cx"], geom["cy"], geom["a"], geom["b"]
  u_HxW = (x_W[None, :] - cx) / a
  v_HxW = (y_H[:, None] - cy) / b
  rng = np.random.default_rng(geom["texture_seed"])

  # Background: a soft vertical gradient.
  ramp_H = 0.85 + 0.3 * (y_H / size)
  image = geom["background"][None, None, :] * ramp_H[:, None, None]
  image = np.broadcast_to(image, (size, size, 3)).copy()

  # Hair behind the head, then neck, then face.
  _paint(image, _soft_ellipse(x_W, y_H, cx, cy - 0.14 * b, 1.1 * a, 1.04 * b, 2.0),
         geom["hair"])
  neck = np.clip(0.55 * a - np.abs(x_W[None, :] - cx), 0, 1) * (y_H[:, None] > cy)
  _paint(image, neck, geom["skin"] * 0.78)

  # Skin: shading, directional light, blotches and fine grain.
  shade_HxW = 1 - 0.22 * np.clip(u_HxW ** 2 + v_HxW ** 2, 0, 1.5) ** 1.5
  shade_HxW += geom["light_gain"] * (np.cos(geom["light"]) * u_HxW +
                                     np.sin(geom["light"]) * v_HxW)
  coarse = max(size // 10, 2)
  blotch = cv2.resize(rng.normal(0, 1, (coarse, coarse)).astype(np.float32),
                      (size, size), interpolation=cv2.INTER_CUBIC)
  grain = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32),
                           (0, 0), 0.7)
  grain /= grain.std() + 1e-6
  texture_HxW = geom["blotch_std"] * blotch + geom["grain_std"] * grain
  skin_HxWx3 = geom["skin"] * shade_HxW[..., None] + texture_HxW[..., None]
  face_mask = _soft_ellipse(x_W, y_H, cx, cy, a, b, 1.5)
  _paint(image, face_mask, skin_HxWx3)
  # Hairline fringe across the forehead top.
  fringe = _soft_ellipse(x_W, y_H, cx, cy - 0.98 * b, 0.95 * a, 0.32 * b, 2.0)
  _paint(image, fringe * face_mask, geom["hair"])

  # Cheek blush.
  for s in (-1, 1):
    blush = np.exp(-((u_HxW - s * 0.45) ** 2 + (v_HxW - 0.22) ** 2 * (b / a) ** 2)
                   / (2 * 0.12 ** 2))
    image += (blush * face_mask)[..., None] * np.array([10., -4., -4.])

  ey = cy + geom["eye_v"] * b
  by = cy + geom["brow_v"] * b
  rx, ry = geom["eye_rx"], geom["eye_ry"]
  for s in (-1, 1):
    ex = cx + s * geom["eye_u"] * a
    # Eye socket shadow, sclera, iris, pupil, upper lid line, crease.
    socket = np.exp(-(((x_W[None, :] - ex) / (1.6 * rx)) ** 2 +
                      ((y_H[:, None] - ey + 0.3 * ry) / (2.2 * ry)) ** 2))
    image *= 1 - 0.12 * socket[..., None]
    sclera = _soft_ellipse(x_W, y_H, ex, ey, rx, ry)
    _paint(image, sclera, np.array([238., 232., 226.]))
    iris = _soft_ellipse(x_W, y_H, ex, ey, 0.95 * ry, 0.95 * ry) * sclera
    _paint(image, iris, geom["iris"])
    pupil = _soft_ellipse(x_W, y_H, ex, ey, 0.45 * ry, 0.45 * ry) * sclera
    _paint(image, pupil, np.array([12., 10., 10.]))
    lid = (np.clip(_soft_ellipse(x_W, y_H, ex, ey, 1.12 * rx, 1.35 * ry) - sclera, 0, 1)
           * (y_H[:, None] < ey + 0.2 * ry))
    _paint(image, lid, geom["hair"] * 0.5)
    crease = (np.clip(_soft_ellipse(x_W, y_H, ex, ey - 0.4 * ry, 1.05 * rx, 1.6 * ry)
                      - _soft_ellipse(x_W, y_H, ex, ey - 0.4 * ry, 1.0 * rx, 1.45 * ry), 0, 1)
              * (y_H[:, None] < ey - ry))
    image *= 1 - 0.25 * crease[..., None]
    # Brow: an arched band, thicker at the inner end.
    half = 0.2 * a
    t_W = (x_W - ex) / half
    arch_W = by - 0.05 * b * (1 - t_W ** 2)
    thick_W = geom["brow_thick"] * (1.0 - 0.35 * (s * t_W + 1) / 2)
    band = np.clip(thick_W[None, :] / 2 - np.abs(y_H[:, None] - arch_W[None, :]) + 0.5, 0, 1)
    band *= np.clip(half - np.abs(x_W - ex) + 0.5, 0, 1)[None, :]
    _paint(image, band, geom["hair"])

  # Nose: side shading, tip highlight, nostrils.
  ny = cy + geom["nose_v"] * b
  nose_len = ny - ey
  for s in (-1, 1):
    side = (np.exp(-((x_W[None, :] - cx - s * 0.09 * a) / (0.035 * a)) ** 2)
            * np.clip((y_H[:, None] - ey) / nose_len, 0, 1)
            * (y_H[:, None] < ny))
    image *= 1 - 0.12 * side[..., None]
    nostril = _soft_ellipse(x_W, y_H, cx + s * geom["nose_w"] * a, ny, 0.055 * a,
                            0.028 * b + 0.5)
    _paint(image, nostril, geom["skin"] * 0.4)
  tip = np.exp(-(((x_W[None, :] - cx) / (0.08 * a)) ** 2 +
                 ((y_H[:, None] - ny + 0.05 * b) / (0.05 * b)) ** 2))
  image += 14 * tip[..., None]

  # Mouth: upper lip, lower lip, dark line between.
  my = cy + geom["mouth_v"] * b
  mw = geom["mouth_w"] * a
  upper = _soft_ellipse(x_W, y_H, cx, my, mw, geom["lip_up"]) * (y_H[:, None] <= my)
  lower = _soft_ellipse(x_W, y_H, cx, my, 0.9 * mw, geom["lip_low"]) * (y_H[:, None] > my)
  _paint(image, upper, geom["lip"] * 0.92)
  _paint(image, lower, geom["lip"])
  line = _soft_ellipse(x_W, y_H, cx, my, 1.02 * mw, 0.9)
  _paint(image, line, geom["lip"] * 0.35)
  # Nasolabial folds: shallow dark curves from the nose wings past the
  # mouth corners.
  for s in (-1, 1):
    top_y, bot_y = ny - 0.02 * b, my + 0.12 * b
    x0, x1 = cx + s * (geom["nose_w"] + 0.08) * a, cx + s * (mw + 0.07 * a)
    q_H = np.clip((y_H - top_y) / (bot_y - top_y), 0, 1)
    xc_H = x0 + (x1 - x0) * np.sin(0.5 * np.pi * q_H)
    fold = (np.exp(-((x_W[None, :] - xc_H[:, None]) / (0.025 * a + 0.4)) ** 2)
            * ((y_H > top_y) & (y_H < bot_y))[:, None] * np.sin(np.pi * q_H)[:, None])
    image *= 1 - geom["fold_depth"] * fold[..., None]
  # Philtrum and chin shadow.
  philtrum = np.exp(-((x_W[None, :] - cx) / (0.05 * a)) ** 2) * (
      (y_H[:, None] > ny + 0.02 * b) & (y_H[:, None] < my - geom["lip_up"]))
  image *= 1 - 0.06 * philtrum[..., None]
  chin = np.exp(-(((x_W[None, :] - cx) / (0.25 * a)) ** 2 +
                  ((y_H[:, None] - my - 0.18 * b) / (0.04 * b)) ** 2))
  image *= 1 - 0.08 * (chin * face_mask)[..., None]
  return np.clip(image, 0, 255).astype(np.float32)


# ---------------------------------------------------------------- motion


def _unit(dx, dy):
  n = np.hypot(dx, dy)
  return dx / n, dy / n


def au_components(geom: dict, au: str) -> list[tuple[float, float, float, float, float]]:
  """The Gaussian-windowed shifts of one AU: (x, y, sigma, ux, uy) in pixels,
  (ux, uy) a unit direction (image y points down)."""
  cx, cy, a, b = geom["cx"], geom["cy"], geom["a"], geom["b"]
  eu, ey = geom["eye_u"], cy + geom["eye_v"] * b
  by = cy + geom["brow_v"] * b
  my, mw = cy + geom["mouth_v"] * b, geom["mouth_w"] * a
  ny = cy + geom["nose_v"] * b
  out = []
  for s in (-1, 1):
    corner = cx + s * mw
    if au == "AU1":      # inner brow raiser
      out.append((cx + s * (eu - 0.12) * a, by, 0.11 * a, 0.0, -1.0))
    elif au == "AU2":    # outer brow raiser
      out.append((cx + s * (eu + 0.12) * a, by, 0.11 * a, 0.0, -1.0))
    elif au == "AU4":    # brow lowerer: down and together
      out.append((cx + s * (eu - 0.08) * a, by, 0.13 * a, *_unit(-s * 0.45, 0.9)))
    elif au == "AU5":    # upper lid raiser
      out.append((cx + s * eu * a, ey - geom["eye_ry"], 0.07 * a, 0.0, -1.0))
    elif au == "AU6":    # cheek raiser
      out.append((cx + s * eu * a, ey + 0.22 * b, 0.15 * a, 0.0, -1.0))
    elif au == "AU7":    # lid tightener: lower lid up
      out.append((cx + s * eu * a, ey + geom["eye_ry"], 0.08 * a, 0.0, -1.0))
    elif au == "AU9":    # nose wrinkler: nose sides up and in
      out.append((cx + s * 0.1 * a, (ey + ny) / 2, 0.1 * a, *_unit(-s * 0.3, -1.0)))
    elif au == "AU10":   # upper lip raiser
      out.append((cx + s * 0.12 * a, my - geom["lip_up"], 0.12 * a, 0.0, -1.0))
    elif au == "AU12":   # lip corner puller: out and up
      out.append((corner, my, 0.12 * a, *_unit(s * 0.6, -0.8)))
    elif au == "AU15":   # lip corner depressor
      out.append((corner, my, 0.12 * a, *_unit(s * 0.15, 1.0)))
    elif au == "AU20":   # lip stretcher
      out.append((corner, my, 0.12 * a, *_unit(s * 1.0, 0.15)))
    elif au == "AU17" and s == 1:   # chin raiser
      out.append((cx, my + 0.25 * b, 0.16 * a, 0.0, -1.0))
    elif au == "AU24" and s == 1:   # lip presser: lips close in
      out.append((cx, my - geom["lip_up"], 0.1 * a, 0.0, 1.0))
      out.append((cx, my + geom["lip_low"], 0.1 * a, 0.0, -1.0))
  if not out and au not in ("AU17", "AU24"):
    raise MerjaxError(f"synthetic: unknown action unit {au}")
  return out


def displacement_field(components_Mx5: np.ndarray, size: int) -> np.ndarray:
  """Sum of Gaussian-windowed shifts, H x W x 2 (dx, dy) float32 pixels.

  components_Mx5 rows are (x, y, sigma, dx, dy): a shift (dx, dy) at (x, y)
  fading as exp(-r^2 / 2 sigma^2).
  """
  field = np.zeros((size, size, 2), np.float32)
  grid = np.arange(size, dtype=np.float32)
  for x, y, sigma, dx, dy in np.asarray(components_Mx5, np.float32).reshape(-1, 5):
    g_W = np.exp(-(grid - x) ** 2 / (2 * sigma ** 2))
    g_H = np.exp(-(grid - y) ** 2 / (2 * sigma ** 2))
    window = g_H[:, None] * g_W[None, :]
    field[..., 0] += dx * window
    field[..., 1] += dy * window
  return field


def cap_magnitude(field_HxWx2: np.ndarray, cap_px: float) -> np.ndarray:
  """Scales each displacement down to at most `cap_px` pixels (same shape)."""
  mag = np.sqrt((field_HxWx2 ** 2).sum(-1, keepdims=True))
  return field_HxWx2 * np.minimum(1.0, cap_px / np.maximum(mag, 1e-6))


def intensity_curve(num_frames: int, onset: int, apex: int, offset: int,
                    residual: float = 0.0) -> np.ndarray:
  """Rise-peak-fall intensity, float32 (T,): 0 up to onset, sin^2 rise to 1
  at apex, cos^2 fall to `residual` at offset, then fading to 0."""
  t = np.arange(num_frames, dtype=np.float64)
  curve = np.zeros(num_frames)
  rise = (t > onset) & (t <= apex)
  curve[rise] = np.sin(0.5 * np.pi * (t[rise] - onset) / max(apex - onset, 1)) ** 2
  curve[t == apex] = 1.0
  fall = (t > apex) & (t <= offset)
  q = (t[fall] - apex) / max(offset - apex, 1)
  curve[fall] = residual + (1 - residual) * np.cos(0.5 * np.pi * q) ** 2
  after = t > offset
  curve[after] = residual * 0.5 ** (t[after] - offset)
  return curve.astype(np.float32)


def class_counts(config: SyntheticConfig) -> np.ndarray:
  """Clips per class (num_classes,): geometric weights from 1 down to
  1/imbalance, rounded by largest remainder, at least one each."""
  k = config.num_classes
  total = config.num_subjects * config.clips_per_subject
  weights = config.imbalance ** (-np.arange(k) / max(k - 1, 1))
  ideal = total * weights / weights.sum()
  counts = np.floor(ideal).astype(int)
  for i in np.argsort(-(ideal - counts), kind="stable")[:total - counts.sum()]:
    counts[i] += 1
  while (counts == 0).any() and total >= k:
    counts[np.argmax(counts)] -= 1
    counts[np.argmin(counts)] += 1
  return counts


def _check(config: SyntheticConfig):
  """Raises MerjaxError on an unusable configuration."""
  problems = []
  if not 2 <= config.num_classes <= len(CLASS_NAMES):
    problems.append(f"num_classes {config.num_classes} not in 2..{len(CLASS_NAMES)}")
  if config.num_subjects < 1 or config.clips_per_subject < 1:
    problems.append("num_subjects and clips_per_subject must be >= 1")
  if config.size < 32:
    problems.append(f"size {config.size} < 32")
  if not 5 <= config.min_frames <= config.max_frames:
    problems.append(f"need 5 <= min_frames ({config.min_frames}) <= max_frames "
                    f"({config.max_frames})")
  if config.imbalance < 1:
    problems.append(f"imbalance {config.imbalance} < 1")
  if config.motion_px < 0 or config.noise_std < 0 or config.jitter_px < 0:
    problems.append("motion_px, noise_std and jitter_px must be >= 0")
  if problems:
    raise MerjaxError("synthetic config: " + "; ".join(problems))


def plan_clips(config: SyntheticConfig = SyntheticConfig(),
               geoms: Sequence[dict] | None = None) -> list[ClipPlan]:
  """Draws the labels, timing and motion of every clip (nothing rendered)."""
  _check(config)
  n, per = config.num_subjects, config.clips_per_subject
  if geoms is None:
    geoms = [subject_geometry(config, i) for i in range(n)]
  counts = class_counts(config)
  label_rng = np.random.default_rng([config.seed, 2])
  labels_NxC = label_rng.permutation(np.repeat(np.arange(len(counts)), counts)).reshape(n, per)
  mp = config.motion_px
  plans = []
  for si in range(n):
    geom = geoms[si]
    a = geom["a"]
    srng = np.random.default_rng([config.seed, 3, si])
    subject_gain = srng.uniform(0.7, 1.3)
    au_gain = {au: srng.uniform(0.6, 1.4) for au in
               sorted({au for m in CLASS_MOTIONS.values() for au, _ in m})}
    au_shift = {au: srng.normal(0, 0.03 * a, 2) for au in au_gain}
    # Idiosyncratic habit: one extra local motion anywhere on the face.
    iu, iv = srng.uniform(-0.55, 0.55), srng.uniform(-0.45, 0.7)
    angle = srng.uniform(0, 2 * np.pi)
    idio = np.array([geom["cx"] + iu * a, geom["cy"] + iv * geom["b"],
                     srng.uniform(0.1, 0.2) * a, np.cos(angle), np.sin(angle)])
    idio_amp = srng.uniform(0.2, 0.4) * mp
    for ci in range(per):
      rng = np.random.default_rng([config.seed, 4, si, ci])
      label = int(labels_NxC[si, ci])
      name = CLASS_NAMES[label]
      t_len = int(rng.integers(config.min_frames, config.max_frames + 1))
      onset = int(rng.integers(1, max(1, t_len // 8) + 1))
      offset = t_len - 1 - int(rng.integers(0, max(0, t_len // 10) + 1))
      apex = onset + int(round(rng.uniform(0.35, 0.6) * (offset - onset)))
      apex = min(max(apex, onset + 1), offset - 1)
      curve = intensity_curve(t_len, onset, apex, offset, rng.uniform(0.0, 0.08))
      lo, hi = _CLIP_WEIGHT.get(name, _DEFAULT_CLIP_WEIGHT)
      rows, aus = [], []
      for au, weight in CLASS_MOTIONS[name]:
        w = weight * au_gain[au] * rng.uniform(lo, hi)
        for x, y, sigma, ux, uy in au_components(geom, au):
          rows.append([x + au_shift[au][0], y + au_shift[au][1], sigma, w * ux, w * uy])
        aus.append(au)
      class_Mx5 = np.array(rows, np.float64)
      peak = np.sqrt((displacement_field(class_Mx5, config.size) ** 2).sum(-1)).max()
      amp = np.clip(mp * subject_gain * rng.uniform(0.85, 1.15), 0.5 * mp, 1.5 * mp)
      class_Mx5[:, 3:] *= amp / max(peak, 1e-6)
      idio_Mx5 = idio[None].copy()
      idio_Mx5[:, 3:] *= idio_amp * rng.uniform(0.5, 1.0)
      jitter = rng.normal(0, config.jitter_px, (t_len, 2))
      plans.append(ClipPlan(si, ci, label, t_len, onset, apex, offset, curve,
                            class_Mx5, idio_Mx5, 1.5 * mp, jitter.astype(np.float32),
                            tuple(aus), int(rng.integers(2**31))))
  return plans


_BANK_SIZE, _BANK_PAD = 16, 16


def noise_bank(config: SyntheticConfig) -> np.ndarray:
  """Gaussian sensor noise to crop frames' noise from, float32
  K x (H+P) x (W+P) x 3 with std noise_std (K=16, P=16)."""
  rng = np.random.default_rng([config.seed, 5])
  side = config.size + _BANK_PAD
  bank = rng.standard_normal((_BANK_SIZE, side, side, 3), dtype=np.float32)
  return bank * np.float32(config.noise_std)


def render_clip(plan: ClipPlan, neutral_HxWx3: np.ndarray,
                bank_KxHxWx3: np.ndarray | None) -> np.ndarray:
  """Warps the neutral face through the clip's motion: uint8 T x H x W x 3.

  Frame t samples the neutral face at x - intensity[t] * D(x) - jitter[t]
  (bilinear), so image content moves by +D at the apex. Each frame's noise is
  a random crop of a random bank entry (bank from `noise_bank`, or None for
  no noise): 16 * 17 * 17 distinct patterns, far cheaper than fresh draws.
  """
  size = neutral_HxWx3.shape[0]
  field = displacement_field(np.concatenate([plan.class_Mx5, plan.idio_Mx5]), size)
  field = cap_magnitude(field, plan.cap_px)
  grid_S = np.arange(size, dtype=np.float32)
  s_T = plan.intensity_T[:, None, None]
  jx_T, jy_T = plan.jitter_Tx2[:, 0, None, None], plan.jitter_Tx2[:, 1, None, None]
  map_x_TxHxW = (grid_S[None, None, :] - jx_T) - s_T * field[None, ..., 0]
  map_y_TxHxW = (grid_S[None, :, None] - jy_T) - s_T * field[None, ..., 1]
  frames = np.empty((plan.num_frames, size, size, 3), np.float32)
  rng = np.random.default_rng(plan.noise_seed)
  pick_Tx3 = rng.integers(0, [_BANK_SIZE, _BANK_PAD + 1, _BANK_PAD + 1], (plan.num_frames, 3))
  for t in range(plan.num_frames):
    cv2.remap(neutral_HxWx3, map_x_TxHxW[t], map_y_TxHxW[t], cv2.INTER_LINEAR,
              dst=frames[t], borderMode=cv2.BORDER_REFLECT)
    if bank_KxHxWx3 is not None:
      k, y, x = pick_Tx3[t]
      frames[t] += bank_KxHxWx3[k, y:y + size, x:x + size]
  rows = frames.reshape(-1, size * 3)   # a 2-D view for the OpenCV calls
  cv2.max(rows, 0.0, dst=rows)
  # Rounds to nearest and saturates at 255 (values are >= 0 here).
  return cv2.convertScaleAbs(rows).reshape(frames.shape)


def make_synthetic(config: SyntheticConfig = SyntheticConfig()) -> list[Clip]:
  """Generates the dataset: num_subjects * clips_per_subject in-memory clips."""
  _check(config)
  geoms = [subject_geometry(config, i) for i in range(config.num_subjects)]
  faces = [render_face(g, config.size) for g in geoms]
  bank = noise_bank(config) if config.noise_std > 0 else None
  width = max(2, len(str(config.num_subjects)))
  clips = []
  for plan in plan_clips(config, geoms):
    subject = f"s{plan.subject_index + 1:0{width}d}"
    clip_id = f"{subject}_c{plan.clip_index + 1:03d}"
    frames = render_clip(plan, faces[plan.subject_index], bank)
    clips.append(Clip(
        dataset="synthetic", subject=subject, clip_id=clip_id,
        label=CLASS_NAMES[plan.label_index], frames=frames,
        onset=plan.onset, apex=None if config.withhold_apex else plan.apex,
        offset=plan.offset, action_units=plan.action_units,
        source=f"synthetic seed {config.seed} clip {clip_id}"))
  return clips


def load(root: str | None = None, protocol: str | None = None, **overrides) -> list[Clip]:
  """Registry entry (`load(root, **options)`): make_synthetic(SyntheticConfig(**overrides)).

  `root` is ignored (the data is generated); an unknown override is a
  MerjaxError naming `data.synthetic.<key>` and the closest known keys.
  """
  from merjax.data import sheets  # pylint: disable=import-outside-toplevel
  del root
  sheets.check_options(overrides, [f.name for f in dataclasses.fields(SyntheticConfig)],
                       "data.synthetic")
  return sheets.filter_protocol(make_synthetic(SyntheticConfig(**overrides)), protocol)
