"""Face alignment: a similarity transform from landmarks, applied to frames.

Transforms are 2 x 3 affine matrices M mapping input pixel coordinates (x, y)
to aligned ones: [x', y'] = M[:, :2] @ [x, y] + M[:, 2] (cv2.warpAffine's
convention, pixel centres at integers). Recipes (docs/faces.md):

- `align` (merjax's): rotate so the eye line (centres of points 36..41 and
  42..47) is horizontal; a square centred on the centroid of the 68 points, of
  side BOX_PER_RMS (2.65) x their RMS radius about it (about their bounding
  square on a frontal face, but from all 68 points, so steadier than the
  extreme jaw and brow points), enlarged by `margin` of its side on each side,
  mapped onto size x size. One transform per clip, from the reference
  landmarks (the onset frame's, or their mean over the clip), applied to every
  frame, so the alignment adds no motion between frames.
- `fdp_release` (CYF-cuber/FDP `data.py` `align_face`): the same rotation;
  the bounding box of the rotated eye centres, nose tip (30) and mouth corners
  (48, 54); half-side 0.5 * enlarge * its larger extent (enlarge 2.5) mapped to
  (size - 1) / 2 (size 64); linear interpolation, border value 128; landmarks
  re-detected on every frame (dlib detector with one upsampling, its first box),
  so each frame has its own transform.
"""

from __future__ import annotations

import numpy as np

from merjax.errors import MerjaxError
from merjax.faces import ibug68
from merjax.faces.detector import as_uint8, get_detector

RECIPES = ("align", "fdp_release")
REFERENCES = ("onset", "mean")
FDP_ENLARGE = 2.5
FDP_SIZE = 64
FDP_BORDER = 128
# Side of the 68 points' bounding square per RMS radius about their centroid on a
# frontal face (dlib's points on skimage's astronaut: 2.654).
BOX_PER_RMS = 2.65


class NoFaceError(MerjaxError):
  """No face found; `frame` is the 0-based index of the frame (in the frames
  given) where the detector found none."""

  def __init__(self, message: str, frame: int = 0):
    super().__init__(message)
    self.frame = frame


# ---------------------------------------------------------------- transforms


def level_rotation(landmarks_68x2) -> np.ndarray:
  """2 x 2 rotation R that makes the eye line horizontal (R @ (right - left) has
  y = 0, x > 0)."""
  a, b = ibug68.eye_centres(landmarks_68x2)
  d = b - a
  norm = float(np.hypot(*d))
  if norm <= 0:
    raise MerjaxError("landmarks: the two eye centres coincide")
  c, s = d / norm
  return np.array([[c, s], [-s, c]])


def _square_map(rotated_Px2, R, size: int, half_side: float, out_half: float) -> np.ndarray:
  lo, hi = rotated_Px2.min(0), rotated_Px2.max(0)
  centre = (lo + hi) / 2
  scale = out_half / half_side
  return np.concatenate([scale * R, ((size - 1) / 2 - scale * centre)[:, None]], 1)


def box_side(landmarks_68x2, margin: float = 0.1) -> float:
  """Side, in input pixels, of the `align` recipe's square: BOX_PER_RMS x the RMS
  radius of the 68 points about their centroid, times (1 + 2 margin)."""
  pts = np.asarray(landmarks_68x2, np.float64)
  rms = float(np.sqrt(((pts - pts.mean(0)) ** 2).sum(1).mean()))
  return BOX_PER_RMS * rms * (1 + 2 * margin)


def align_transform(landmarks_68x2, size: int, margin: float = 0.1) -> np.ndarray:
  """2 x 3 map of the `align` recipe: eye line horizontal, the landmarks' square
  (centred on their centroid) enlarged by `margin` on each side onto size x size."""
  pts = np.asarray(landmarks_68x2, np.float64)
  R = level_rotation(pts)
  scale = size / box_side(pts, margin)
  centre = pts.mean(0) @ R.T
  return np.concatenate([scale * R, ((size - 1) / 2 - scale * centre)[:, None]], 1)


def fdp_transform(landmarks_68x2, size: int = FDP_SIZE, enlarge: float = FDP_ENLARGE) -> np.ndarray:
  """2 x 3 map of FDP's release: five points' box, half-side 0.5 * enlarge * extent,
  mapped to (size - 1) / 2 about the output centre."""
  pts = np.asarray(landmarks_68x2, np.float64)
  R = level_rotation(pts)
  r = ibug68.five_points(pts) @ R.T
  half = 0.5 * enlarge * float((r.max(0) - r.min(0)).max())
  return _square_map(r, R, size, half, (size - 1) / 2)


def whole_frame_transform(shape_hw, size: int | None = None) -> np.ndarray:
  """2 x 3 map of the frame's centre square onto size x size (size None: its own
  side): the `whole_frame` fallback when no face is found."""
  H, W = int(shape_hw[0]), int(shape_hw[1])
  side = min(H, W)
  size = int(size or side)
  scale = size / side
  cx, cy = (W - 1) / 2, (H - 1) / 2
  return np.array([[scale, 0, (size - 1) / 2 - scale * cx],
                   [0, scale, (size - 1) / 2 - scale * cy]])


def centre_crop(transform_2x3, size: int, crop: int) -> np.ndarray:
  """The map onto the centre crop x crop of a size x size output."""
  if crop > size:
    raise MerjaxError(f"face crop size {crop} exceeds the aligned size {size}")
  M = np.array(transform_2x3, np.float64)
  M[..., 2] -= (size - crop) // 2
  return M


def apply(transform_2x3, points_Px2) -> np.ndarray:
  """Points mapped by a 2 x 3 transform: float64 P x 2."""
  M = np.asarray(transform_2x3, np.float64)
  return np.asarray(points_Px2, np.float64) @ M[:, :2].T + M[:, 2]


def invert(transform_2x3) -> np.ndarray:
  """The inverse 2 x 3 map."""
  M = np.asarray(transform_2x3, np.float64)
  A = np.linalg.inv(M[:, :2])
  return np.concatenate([A, -(A @ M[:, 2])[:, None]], 1)


def compose(outer_2x3, inner_2x3) -> np.ndarray:
  """outer after inner, 2 x 3."""
  A, B = np.asarray(outer_2x3, np.float64), np.asarray(inner_2x3, np.float64)
  return np.concatenate([A[:, :2] @ B[:, :2], (A[:, :2] @ B[:, 2] + A[:, 2])[:, None]], 1)


def similarity_params(transform_2x3) -> tuple[float, float, float, float]:
  """(angle in degrees, scale, tx, ty) of a similarity map; the angle is
  atan2(M[1,0], M[0,0]) (image axes, y down: positive turns x towards y)."""
  M = np.asarray(transform_2x3, np.float64)
  scale = float(np.sqrt(abs(np.linalg.det(M[:, :2]))))
  return float(np.degrees(np.arctan2(M[1, 0], M[0, 0]))), scale, float(M[0, 2]), float(M[1, 2])


# ---------------------------------------------------------------- frames


def warp_frames(frames_TxHxWxC, transform, size: int, border=None,
                shape_hw=None) -> np.ndarray:
  """Every frame warped (bilinear) by `transform` (2 x 3 for all, or T x 2 x 3 per
  frame) onto size x size (or shape_hw): uint8 T x size x size x C. border None or
  "replicate": edge pixels repeated; an int: that constant value."""
  import cv2  # pylint: disable=import-outside-toplevel
  frames = np.asarray(frames_TxHxWxC)
  if frames.ndim != 4:
    raise MerjaxError(f"frames: shape {frames.shape} is not T x H x W x C")
  M = np.asarray(transform, np.float64)
  per_frame = M.ndim == 3
  if per_frame and M.shape[0] != frames.shape[0]:
    raise MerjaxError(f"{M.shape[0]} transforms for {frames.shape[0]} frames")
  if border is None or border == "replicate":
    kw = {"borderMode": cv2.BORDER_REPLICATE}
  else:
    kw = {"borderMode": cv2.BORDER_CONSTANT, "borderValue": (int(border),) * 4}
  C = frames.shape[-1]
  H, W = (size, size) if shape_hw is None else (int(shape_hw[0]), int(shape_hw[1]))
  out = np.empty((frames.shape[0], H, W, C), frames.dtype)
  for t, f in enumerate(frames):
    out[t] = cv2.warpAffine(f, M[t] if per_frame else M, (W, H),
                            flags=cv2.INTER_LINEAR, **kw).reshape(H, W, C)
  return out


# Faces turned more than this (degrees) are re-detected on a copy turned upright
# (dlib's HOG boxes and shape predictor are trained on roughly upright faces).
UPRIGHT_DEGREES = 2.0


def levelling(landmarks_68x2) -> np.ndarray | None:
  """2 x 3 rotation about the eye midpoint that makes the eye line horizontal;
  None when it is within UPRIGHT_DEGREES of horizontal already."""
  a, b = ibug68.eye_centres(landmarks_68x2)
  R = level_rotation(landmarks_68x2)
  if abs(np.degrees(np.arctan2(R[0, 1], R[0, 0]))) < UPRIGHT_DEGREES:
    return None
  mid = (a + b) / 2
  return np.concatenate([R, (mid - R @ mid)[:, None]], 1)


def _warp_same(frame_HxWxC, M) -> np.ndarray:
  f = np.asarray(frame_HxWxC)
  return warp_frames(f.reshape(f.shape[:2] + (-1,))[None], M, 0, shape_hw=f.shape[:2])[0]


def _dlib_upright(det, frames, first_lm, i):
  """68-point landmarks of frames[i:] with dlib, on copies turned upright by the
  levelling of `first_lm` (frame i's first landmarks), one face box (from the
  upright frame i) for all; mapped back to the input frame."""
  M = levelling(first_lm)
  if M is None:
    boxes = det.boxes(frames[i])
    return [det.landmarks_in_box(g, boxes[0]) for g in frames[i:]] if boxes else None
  back = invert(M)
  up = [_warp_same(g, M) for g in frames[i:]]
  boxes = det.boxes(up[0])
  if not boxes:
    lo, hi = apply(M, first_lm).min(0), apply(M, first_lm).max(0)
    boxes = [(lo[0], lo[1], hi[0], hi[1])]
  return [apply(back, det.landmarks_in_box(g, boxes[0])).astype(np.float32) for g in up]


def frame_landmarks(frame_HxWxC, detector: str = "dlib") -> np.ndarray | None:
  """68-point landmarks (float32 68 x 2) of one frame, or None. dlib: a face
  turned by more than UPRIGHT_DEGREES is re-detected on a copy turned upright."""
  det = get_detector(detector)
  lm = det(frame_HxWxC)
  if lm is None:
    return None
  if not hasattr(det, "landmarks_in_box"):
    return ibug68.to_ibug68(lm)
  return _dlib_upright(det, np.asarray(frame_HxWxC)[None], lm, 0)[0]


def clip_landmarks(frames_TxHxWxC, detector: str = "dlib", track: bool = True) -> list:
  """68-point landmarks (float32 68 x 2, or None) of every frame.

  track (dlib): the face is detected once, on the first frame where one is
  found, and the shape predictor runs on every frame inside that box (on copies
  turned upright by that frame's eye line); a micro-expression clip holds one
  still face. Otherwise each frame is detected on its own.
  """
  det = get_detector(detector)
  frames = np.asarray(frames_TxHxWxC)
  if track and hasattr(det, "landmarks_in_box"):
    for i, f in enumerate(frames):
      lm = det(f)
      if lm is not None:
        return [None] * i + _dlib_upright(det, frames, lm, i)
    return [None] * len(frames)
  return [frame_landmarks(f, detector) for f in frames]


def reference_landmarks(frames_TxHxWxC, reference: str = "onset",
                        detector: str = "dlib") -> np.ndarray:
  """The clip's reference 68 x 2 landmarks (float64): the first frame's
  (`onset`), or the mean over the frames where a face is found (`mean`).
  NoFaceError naming the frame when there is none."""
  frames = np.asarray(frames_TxHxWxC)
  if reference not in REFERENCES:
    raise MerjaxError(f"face reference '{reference}' is not one of {', '.join(REFERENCES)}")
  if reference == "onset":
    lm = frame_landmarks(frames[0], detector)
    if lm is None:
      raise NoFaceError("frame 0: no face found", 0)
    return lm.astype(np.float64)
  found = [lm for lm in clip_landmarks(frames, detector) if lm is not None]
  if not found:
    raise NoFaceError(f"no face found on any of the {len(frames)} frames", 0)
  return np.mean(np.stack(found), 0).astype(np.float64)


def fdp_frame_landmarks(frame_HxWxC) -> np.ndarray | None:
  """FDP's per-frame landmarks: dlib detector with one upsampling on the full
  frame, its first box, the 68-point predictor (None: no face)."""
  det = get_detector("dlib")
  boxes = det.boxes(frame_HxWxC, upsample=1, max_side=None)
  return det.landmarks_in_box(frame_HxWxC, boxes[0]) if boxes else None


def align_clip(frames_TxHxWxC, *, recipe: str = "align", reference: str = "onset",
               size: int | None = None, margin: float = 0.1, crop_size: int | None = None,
               enlarge: float = FDP_ENLARGE, border=None, detector: str = "dlib",
               landmarks=None):
  """Aligns a clip's frames.

  Args:
    frames_TxHxWxC: uint8 frames (C = 1 or 3); frame 0 is the onset.
    recipe: `align` (one transform per clip) or `fdp_release` (one per frame).
    reference: `onset` or `mean` (align: whose landmarks define the transform).
    size: output side S (align: None = the square's own side in pixels;
      fdp_release: None = 64).
    margin: align: fraction of the square's side added on each side.
    crop_size: keep the centre crop_size x crop_size of the S x S output.
    enlarge: fdp_release's box enlargement (2.5).
    border: None = the recipe's (align: replicate; fdp_release: 128), "replicate"
      or a constant 0..255.
    detector: `dlib` or `mediapipe` (fdp_release: dlib).
    landmarks: reference 68 x 2 (or native P x 2) landmarks to use instead of
      detecting (align only).
  Returns:
    (aligned uint8 T x S' x S' x C with S' = crop_size or S, transform float64
    2 x 3 (align) or T x 2 x 3 (fdp_release)) mapping input pixels to aligned ones.
  Raises:
    NoFaceError (a MerjaxError) naming the frame without a face.
  """
  frames = np.asarray(frames_TxHxWxC)
  if frames.ndim != 4 or frames.shape[0] < 1:
    raise MerjaxError(f"frames: shape {frames.shape} is not T x H x W x C")
  frames = frames if frames.dtype == np.uint8 else np.stack([as_uint8(f).reshape(
      f.shape[:2] + (-1,)) for f in frames])
  if recipe == "align":
    ref = (ibug68.to_ibug68(landmarks).astype(np.float64) if landmarks is not None
           else reference_landmarks(frames, reference, detector))
    S = int(size or max(round(box_side(ref, margin)), 1))
    M = align_transform(ref, S, margin)
    default_border = "replicate"
  elif recipe == "fdp_release":
    S = int(size or FDP_SIZE)
    Ms = []
    for t, f in enumerate(frames):
      lm = fdp_frame_landmarks(f)
      if lm is None:
        raise NoFaceError(f"frame {t}: no face found", t)
      Ms.append(fdp_transform(lm, S, enlarge))
    M = np.stack(Ms)
    default_border = FDP_BORDER
  else:
    raise MerjaxError(f"face recipe '{recipe}' is not one of {', '.join(RECIPES)}")
  if crop_size:
    M, S = centre_crop(M, S, int(crop_size)), int(crop_size)
  aligned = warp_frames(frames, M, S, default_border if border is None else border)
  return aligned, M
