"""The modality stage's face step: per clip, a cached alignment and a no-face policy.

`align_clips(clips, cfg, cache_dir)` gives one `FaceAlignment` per clip (the
transform of its onset..offset segment, the output side, the reference landmarks
in the aligned frame); `apply_alignment` warps frames with it. Results are cached
per clip in `<cache_dir>/faces/<key>.npz`, the key a sha256 of the clip's frame
source, its onset/offset, the face options, the detector and its version, and
FACES_VERSION; and in memory for the process (so `screen_clips` and
`stage_inputs` detect once).

Policies (data.preprocess.face_policy) for a clip where no face is found:
  fail (default): MerjaxError naming dataset/subject/clip, the frame and its file;
  skip: the clip is left out by `stage.screen_clips`, with a warning naming it;
  whole_frame: the frame's centre square is used, with a warning naming it.
Clips of a dataset's cropped release (CASME II `Cropped/`, SAMM `SAMM_CROP`, SMIC
`SMIC_all_cropped`, CAS(ME)^2 `cropped/`, `reg_*` files), of the synthetic dataset
(drawn face crops) and one-frame manifest rows are not detected when
face_on_cropped = skip (default): their frames are only resized to the face size.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Sequence

import numpy as np

from merjax.data.records import Clip, read_image
from merjax.errors import MerjaxError
from merjax.faces import align as align_lib
from merjax.faces import detector as detector_lib

logger = logging.getLogger(__name__)

# Bump whenever the face step's output changes: invalidates the face caches.
FACES_VERSION = "merjax-faces-1"
PIPELINES = ("none", "haar", "align", "fdp_release")
POLICIES = ("fail", "skip", "whole_frame")
ON_CROPPED = ("skip", "detect")
# Preprocess keys of the face step (stage.PREPROCESS_DEFAULTS holds their defaults).
FACE_KEYS = ("face_pipeline", "face_detector", "face_reference", "face_size",
             "face_crop_size", "face_margin", "face_enlarge", "face_border", "face_policy",
             "face_on_cropped")


def cropped_folders() -> frozenset:
  """Folder names of the datasets' cropped-face releases (the loaders' own)."""
  from merjax.data import casme2, casme_sq, samm  # pylint: disable=import-outside-toplevel
  return frozenset(casme2.FRAMES["cropped"] + samm.FRAMES["cropped"]
                   + casme_sq.FRAMES["cropped"] + ("SMIC_all_cropped",))


# Datasets whose clips are face crops by construction (merjax.data.synthetic draws them).
CROPPED_DATASETS = ("synthetic",)


def ships_cropped_faces(clip: Clip) -> bool:
  """Whether the clip's frames are face crops already: a cropped-face release (a
  folder of `cropped_folders()` on the frame files' path, or `reg_*` file names:
  CASME II, SMIC), a dataset of CROPPED_DATASETS, or a one-frame clip (a manifest
  row holding a precomputed image)."""
  if clip.dataset in CROPPED_DATASETS or clip.num_frames == 1:
    return True
  if isinstance(clip.frames, np.ndarray) or not clip.frames:
    return False
  path = os.path.normpath(clip.frames[0])
  parts = set(path.split(os.sep)[:-1])
  return bool(parts & cropped_folders()) or os.path.basename(path).startswith("reg_")


def needs_detection(cfg) -> bool:
  """Whether the face step detects landmarks (face_pipeline align / fdp_release)."""
  return cfg.get("face_pipeline", "none") in ("align", "fdp_release")


@dataclasses.dataclass
class FaceAlignment:
  """One clip's face step.

  status: "aligned", "no_face" (see frame), "whole_frame" (the policy's
    fallback) or "cropped" (a cropped release: frames resized only).
  transform: float64 2 x 3 (one per clip) or L x 2 x 3 (fdp_release: one per
    segment frame), mapping input pixels to the size x size output; None for
    "no_face".
  size: output side in pixels.
  landmarks: float32 68 x 2 reference landmarks in the output frame (None
    when not detected).
  frame: absolute clip frame index where no face was found (else None).
  """
  status: str
  transform: np.ndarray | None
  size: int
  landmarks: np.ndarray | None = None
  frame: int | None = None


def face_options(cfg) -> dict:
  """What a clip's face step depends on: the face keys of a resolved preprocess
  config (less face_policy and face_on_cropped, which only pick what to do with
  the result), `size`, the detector's version and FACES_VERSION."""
  opts = {k: cfg[k] for k in FACE_KEYS if k not in ("face_policy", "face_on_cropped")}
  opts["size"] = cfg["size"]
  if needs_detection(cfg):
    name = "dlib" if cfg["face_pipeline"] == "fdp_release" else cfg["face_detector"]
    opts["detector_version"] = detector_lib.get_detector(name).version
  opts["code"] = FACES_VERSION
  return opts


def _clip_source(clip: Clip) -> list:
  if isinstance(clip.frames, np.ndarray):
    digest = hashlib.sha1(np.ascontiguousarray(clip.frames).data).hexdigest()
    return [str(clip.frames.shape), digest]
  out = []
  for p in clip.frames[clip.onset:clip.offset + 1]:
    st = os.stat(p) if os.path.exists(p) else None
    out.append([p, st.st_size if st else -1, st.st_mtime_ns if st else -1])
  return out


def clip_key(clip: Clip, options: dict) -> str:
  """sha256 of the clip (key, onset..offset, frame source) and the face options."""
  blob = json.dumps({"clip": clip.key, "span": [clip.onset, clip.offset],
                     "source": _clip_source(clip), "options": options},
                    sort_keys=True, default=str)
  return hashlib.sha256(blob.encode()).hexdigest()


_MEMO: dict[str, FaceAlignment] = {}


def _save(path: str, r: FaceAlignment):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + ".tmp.npz"
  np.savez(tmp, status=r.status, size=r.size,
           transform=np.zeros(0) if r.transform is None else r.transform,
           landmarks=np.zeros(0) if r.landmarks is None else r.landmarks,
           frame=-1 if r.frame is None else r.frame)
  os.replace(tmp, path)


def _load(path: str) -> FaceAlignment | None:
  try:
    with np.load(path) as z:
      t, lm, frame = z["transform"], z["landmarks"], int(z["frame"])
      return FaceAlignment(str(z["status"]), t if t.size else None, int(z["size"]),
                           lm if lm.size else None, None if frame < 0 else frame)
  except Exception as e:  # pylint: disable=broad-except  # zipfile, OS, value errors
    logger.warning(f"[faces] {path}: damaged cache file ({type(e).__name__}); recomputing")
    with contextlib.suppress(OSError):
      os.remove(path)
    return None


def _segment(clip: Clip, reference: str, recipe: str) -> np.ndarray:
  """uint8 frames the face step reads: the onset frame only (align, onset
  reference) or the onset..offset segment."""
  if recipe == "align" and reference == "onset":
    if isinstance(clip.frames, np.ndarray):
      return clip.frames[clip.onset:clip.onset + 1]
    return read_image(clip.frames[clip.onset])[None]
  return clip.read_frames()[clip.onset:clip.offset + 1]


def _output_size(cfg, fallback: int) -> int:
  return int(cfg["face_size"] or cfg["size"] or fallback)


def compute_alignment(clip: Clip, cfg) -> FaceAlignment:
  """The face step of one clip (no cache); "no_face" results are returned, not
  raised."""
  recipe = cfg["face_pipeline"]
  frames = _segment(clip, cfg["face_reference"], recipe)
  crop = cfg["face_crop_size"]
  try:
    if recipe == "align":
      ref = align_lib.reference_landmarks(frames, cfg["face_reference"], cfg["face_detector"])
      S = _output_size(cfg, max(round(align_lib.box_side(ref, cfg["face_margin"])), 1))
      M = align_lib.align_transform(ref, S, cfg["face_margin"])
    else:
      S = int(cfg["face_size"] or align_lib.FDP_SIZE)
      Ms, ref = [], None
      for t, f in enumerate(frames):
        lm = align_lib.fdp_frame_landmarks(f)
        if lm is None:
          raise align_lib.NoFaceError(f"frame {t}: no face found", t)
        ref = lm if ref is None else ref
        Ms.append(align_lib.fdp_transform(lm, S, cfg["face_enlarge"]))
      M = np.stack(Ms)
  except align_lib.NoFaceError as e:
    return FaceAlignment("no_face", None, _output_size(cfg, min(frames.shape[1:3])),
                         frame=clip.onset + e.frame)
  if crop:
    M, S = align_lib.centre_crop(M, S, int(crop)), int(crop)
  first = M if M.ndim == 2 else M[0]
  return FaceAlignment("aligned", M, S, align_lib.apply(first, ref).astype(np.float32))


def whole_frame(clip: Clip, cfg, frame: int | None = None) -> FaceAlignment:
  """The whole_frame fallback: the centre square of the clip's frames."""
  f = (clip.frames[clip.onset] if isinstance(clip.frames, np.ndarray)
       else read_image(clip.frames[clip.onset]))
  S = int(cfg["face_crop_size"] or _output_size(cfg, min(f.shape[:2])))
  return FaceAlignment("whole_frame", align_lib.whole_frame_transform(f.shape[:2], S), S,
                       frame=frame)


def where(clip: Clip, frame: int | None = None) -> str:
  """`dataset/subject/clip (source) frame N (file)` for messages."""
  out = clip.key + (f" ({clip.source})" if clip.source else "")
  if frame is not None:
    out += f" frame {frame}"
    if not isinstance(clip.frames, np.ndarray):
      out += f" ({clip.frames[frame]})"
  return out


def no_face_message(clip: Clip, r: FaceAlignment, cfg) -> str:
  """One line naming the clip, the frame and its file, and the detector."""
  name = "dlib" if cfg["face_pipeline"] == "fdp_release" else cfg["face_detector"]
  return f"{where(clip, r.frame)}: no face found ({name} detector)"


def align_clips(clips: Sequence[Clip], cfg, cache_dir: str | None = None,
                log=None) -> list[FaceAlignment | None]:
  """Every clip's FaceAlignment under a resolved preprocess config (None for all
  when face_pipeline is none / haar). "no_face" results are kept as such; the
  caller applies face_policy (`stage`). Progress goes to `log` (default
  logger.info): one line per 10 % of the clips and at the end."""
  if not needs_detection(cfg):
    return [None] * len(clips)
  log = log or logger.info
  opts = face_options(cfg)
  out: list[FaceAlignment | None] = []
  computed = missing = cropped = 0
  step = max(len(clips) // 10, 1)
  for i, clip in enumerate(clips):
    if cfg["face_on_cropped"] == "skip" and ships_cropped_faces(clip):
      out.append(FaceAlignment("cropped", None, 0))
      cropped += 1
      continue
    key = clip_key(clip, opts)
    r = _MEMO.get(key)
    path = os.path.join(cache_dir, "faces", f"{key[:24]}.npz") if cache_dir else None
    if r is None and path and os.path.isfile(path):
      r = _load(path)
    if r is None:
      r = compute_alignment(clip, cfg)
      computed += 1
      if path:
        _save(path, r)
    _MEMO[key] = r
    missing += r.status == "no_face"
    out.append(r)
    if computed and ((i + 1) % step == 0 or i + 1 == len(clips)):
      log(f"[faces] {cfg['face_pipeline']}: {i + 1}/{len(clips)} clips "
          f"({computed} detected, {missing} without a face)")
  if cropped:
    log(f"[faces] {cropped} of {len(clips)} clips come from a cropped release: not detected "
        f"(data.preprocess.face_on_cropped=detect detects them)")
  return out


def apply_alignment(frames_TxHxWxC, r: FaceAlignment | None, cfg, first: int = 0) -> np.ndarray:
  """Frames after the face step: warped by r's transform (per-frame transforms
  indexed from segment frame `first`), resized to the face size for a cropped
  release, unchanged when r is None. uint8 T x S x S x C."""
  frames = np.asarray(frames_TxHxWxC)
  if r is None:
    return frames
  if r.status == "cropped":
    S = cfg["face_crop_size"] or cfg["face_size"]
    if not S:
      return frames
    from merjax.modalities import preprocess as pp  # pylint: disable=import-outside-toplevel
    return pp.resize_frames_cv2(frames, int(S))
  if r.transform is None:
    raise MerjaxError("apply_alignment: a clip without a face has no transform")
  M = r.transform
  if M.ndim == 3:
    idx = np.clip(np.arange(first, first + len(frames)), 0, len(M) - 1)
    M = M[idx]
  border = cfg["face_border"]
  if border is None and cfg["face_pipeline"] == "fdp_release" and r.status == "aligned":
    border = align_lib.FDP_BORDER
  return align_lib.warp_frames(frames, M, r.size, border)


def clear_memo():
  """Forgets the in-process results (tests)."""
  _MEMO.clear()
