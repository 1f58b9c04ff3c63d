"""The modality stage: clips -> one float32 array per model input role.

`stage_inputs` is the only entry point the trainer and CLIs use. It refuses
clips a requested modality cannot use (`screen_clips`: onset == apex for an
onset->apex modality, one frame for a dynamic image; call `screen_clips` with
the `drop` policy first to leave them out instead), computes
each requested modality for every clip in batched jitted passes (clips grouped
by padded segment length), prints progress to stderr and, with `cache_dir`,
caches each modality in an npz keyed by the dataset fingerprint, the effective
preprocessing config, the modality name and CODE_VERSION.

Before every modality runs the face step (data.preprocess.face_pipeline,
docs/faces.md): `align` / `fdp_release` align each clip's frames from
landmarks (merjax.faces.pipeline: cached per clip, keyed by the detector, its
version and the face options, with progress), and a clip without a face follows
face_policy (fail, skip in `screen_clips`, whole_frame), named in the message.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from merjax.data.records import Clip
from merjax.errors import MerjaxError
from merjax.modalities import apex as apex_lib
from merjax.modalities import preprocess as pp
from merjax.modalities import registry
from merjax.modalities.normalize import NORMALIZE_MODES

logger = logging.getLogger(__name__)

# Bump whenever a kernel or the stage changes its output: invalidates caches.
CODE_VERSION = "merjax-modalities-2"  # 2: fdp_offsets windows

# Every preprocess key, its default (docs/modalities.md explains each).
PREPROCESS_DEFAULTS = {
    "size": None,                 # int: resize frames to size x size (INTER_AREA)
    "output_size": None,          # int: resize each modality image (e.g. 28 for STSTNet)
    "grayscale": False,           # RGB -> 1 channel (cv2 RGB2GRAY weights)
    "equalize": False,            # cv2.equalizeHist per frame and channel
    "face_crop": False,           # Haar face box on the onset frame, all frames
    "align_eyes": False,          # rotate so the eye line is horizontal
    "face_margin": 0.1,           # extra border, fraction of the box side
    "cascade_path": None,         # face cascade xml (default: OpenCV's bundled)
    "eye_cascade_path": None,     # eye cascade xml (default: OpenCV's bundled)
    "num_frames": None,           # int: resample onset..offset to T frames
    "frames_T": 8,                # T of the `frames` modality when num_frames is None
    "temporal_mode": "linspace",  # "linspace" | "fdp"
    "apex_method": "annotated",   # "annotated" | "middle" | "dc_rois" | "dc_rois_always"
    "normalize": "minmax",        # rank-pooled / difference images
    "flow_normalize": "minmax_channel",  # flow and (u, v, strain) images
    "strain_scheme": "central",   # "central" (np.gradient) | "backward" (MEAN)
    "di_apex_in_both": True,      # apex frame in both DIANet segments
    "provisional_mix": 0.5,       # active_image_provisional appearance mix
    "flow_params": {},            # tvl1_flow keyword arguments
    "batch_size": 16,             # clips per jitted pass (not in the cache key)
    "bucket": 8,                  # segment lengths padded to a multiple (not in key)
    # The face step (docs/faces.md); face_margin above is its margin too.
    "face_pipeline": "none",      # "none" | "haar" (= face_crop) | "align" | "fdp_release"
    "face_detector": "dlib",      # "dlib" (the faces extra) | "mediapipe" (align only)
    "face_reference": "onset",    # align: landmarks of the onset frame | "mean" over the clip
    "face_size": None,            # int: aligned side S (None: size, else the face's own side;
                                  #   fdp_release: 64)
    "face_crop_size": None,       # int: keep the centre crop of the S x S face (FDP: 72 -> 64)
    "face_enlarge": 2.5,          # fdp_release: box enlargement
    "face_border": None,          # None (align: replicate, fdp_release: 128) | "replicate" | 0..255
    "face_policy": "fail",        # no face: "fail" | "skip" (screen_clips) | "whole_frame"
    "face_on_cropped": "skip",    # clips of a cropped release: "skip" detection | "detect"
    "apex_rois": "fractions",     # dc_rois apex RoIs: apex.DEFAULT_ROIS | "landmarks" (align)
}
_NOT_IN_KEY = ("batch_size", "bucket")
APEX_METHODS = ("annotated", "middle", "dc_rois", "dc_rois_always")
# Keys added with the face step: left out of the cache key at their defaults, so
# that caches written before them stay valid.
_FACE_KEYS_NEW = ("face_pipeline", "face_detector", "face_reference", "face_size",
                  "face_crop_size", "face_enlarge", "face_border", "face_policy",
                  "face_on_cropped", "apex_rois")
FACE_CHOICES = {"face_pipeline": ("none", "haar", "align", "fdp_release"),
                "face_detector": ("dlib", "mediapipe"), "face_reference": ("onset", "mean"),
                "face_policy": ("fail", "skip", "whole_frame"),
                "face_on_cropped": ("skip", "detect"), "apex_rois": ("fractions", "landmarks")}


# Types of the preprocess keys that are not free-form (data.preprocess.<key>).
_PREPROCESS_INTS = ("size", "output_size", "num_frames", "frames_T",
                    "batch_size", "bucket", "face_size", "face_crop_size")
_PREPROCESS_BOOLS = ("grayscale", "equalize", "face_crop", "align_eyes", "di_apex_in_both")
_PREPROCESS_NUMBERS = ("face_margin", "provisional_mix", "face_enlarge")


def _preprocess_problem(key: str, value) -> str | None:
  """What is wrong with data.preprocess.<key> = value (None: nothing)."""
  if key in _PREPROCESS_INTS:
    if value is None and key not in ("frames_T", "batch_size", "bucket"):
      return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
      return f"{value!r} is not a positive integer"
  if key in _PREPROCESS_BOOLS and not isinstance(value, bool):
    return f"{value!r} is not true/false"
  if key in _PREPROCESS_NUMBERS and (not isinstance(value, (int, float))
                                     or isinstance(value, bool)):
    return f"{value!r} is not a number"
  if key == "flow_params" and not isinstance(value, Mapping):
    return f"{value!r} is not a group of tvl1_flow keyword arguments"
  if key == "face_border" and value not in (None, "replicate") and (
      not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255):
    return f"{value!r} is not null, 'replicate' or a grey value 0..255"
  if key in ("face_enlarge",) and isinstance(value, (int, float)) and value <= 0:
    return f"{value!r} is not positive"
  return None


def _face_problem(cfg) -> str | None:
  """What is wrong with the face keys together (None: nothing)."""
  pipeline = cfg["face_pipeline"]
  if cfg["face_crop"] and pipeline not in ("none", "haar"):
    return (f"face_crop: true (the Haar crop) and face_pipeline: {pipeline!r} both crop the "
            f"face; keep one")
  if pipeline == "fdp_release" and cfg["face_detector"] != "dlib":
    return "face_detector: fdp_release is dlib's recipe; use face_detector=dlib"
  if cfg["apex_rois"] == "landmarks" and pipeline != "align":
    return "apex_rois: 'landmarks' needs face_pipeline=align (the landmarks come from it)"
  size = cfg["face_size"] or (None if pipeline == "align" else
                              (64 if pipeline == "fdp_release" else None))
  if cfg["face_crop_size"] and size and cfg["face_crop_size"] > size:
    return f"face_crop_size: {cfg['face_crop_size']} exceeds face_size {size}"
  return None


def resolve_preprocess(preprocess: Mapping | None) -> dict:
  """Defaults merged with `preprocess`; a MerjaxError naming data.preprocess.<key> on an
  unknown key or a bad value."""
  from merjax.configs import schema  # pylint: disable=import-outside-toplevel
  preprocess = dict(preprocess or {})
  schema.check_keys(preprocess, PREPROCESS_DEFAULTS, "data.preprocess")
  cfg = {**PREPROCESS_DEFAULTS, **preprocess}
  choices = {"apex_method": APEX_METHODS, "normalize": NORMALIZE_MODES,
             "flow_normalize": NORMALIZE_MODES, "temporal_mode": pp.TEMPORAL_MODES,
             **FACE_CHOICES}
  for key, value in cfg.items():
    problem = _preprocess_problem(key, value)
    if key in choices and value not in choices[key]:
      problem = f"{value!r} is not one of {', '.join(map(repr, choices[key]))}"
    if problem:
      raise MerjaxError(f"data.preprocess.{key}: {problem}")
  problem = _face_problem(cfg)
  if problem:
    raise MerjaxError(f"data.preprocess.{problem}")
  return cfg


# ---------------------------------------------------------------- fingerprints


def dataset_fingerprint(clips: Sequence[Clip]) -> str:
  """sha256 of every clip's key, label, onset/apex/offset and frame source
  (array: shape, dtype and a hash of the bytes; paths: path, size, mtime)."""
  h = hashlib.sha256()
  for c in clips:
    h.update(json.dumps([c.key, c.label, c.onset, c.apex, c.offset]).encode())
    if isinstance(c.frames, np.ndarray):
      h.update(f"{c.frames.shape}{c.frames.dtype}".encode())
      h.update(hashlib.sha1(np.ascontiguousarray(c.frames).data).digest())
    else:
      for p in c.frames:
        st = os.stat(p) if os.path.exists(p) else None
        h.update(json.dumps([p, st.st_size if st else -1,
                             st.st_mtime_ns if st else -1]).encode())
  return h.hexdigest()


def cache_key(dataset_fp: str, modality: str, cfg: Mapping, fingerprint: str = "") -> str:
  """sha256 over (dataset fingerprint, modality, effective config, code version,
  caller fingerprint)."""
  keyed = {k: v for k, v in cfg.items() if k not in _NOT_IN_KEY
           and not (k in _FACE_KEYS_NEW and v == PREPROCESS_DEFAULTS[k])}
  blob = json.dumps({"dataset": dataset_fp, "modality": modality, "preprocess": keyed,
                     "code": CODE_VERSION, "extra": fingerprint},
                    sort_keys=True, default=str)
  return hashlib.sha256(blob.encode()).hexdigest()


def cache_path(cache_dir: str, modality: str, key: str) -> str:
  return os.path.join(cache_dir, f"{modality}-{key[:20]}.npz")


# ---------------------------------------------------------------- per clip (host)


def _segment_length(clip: Clip, cfg) -> int:
  return int(cfg["num_frames"] or (clip.offset - clip.onset + 1))


def _prepare_frames(frames_TxHxWxC: np.ndarray, cfg, face=None, first: int = 0) -> np.ndarray:
  """Face step (Haar crop, or the clip's alignment `face`: a
  merjax.faces.pipeline.FaceAlignment, per-frame transforms from segment frame
  `first`) -> grayscale -> resize -> equalise, uint8."""
  f = np.asarray(frames_TxHxWxC)
  if cfg["face_crop"] or cfg.get("face_pipeline") == "haar":
    f = pp.crop_faces(f, margin=cfg["face_margin"], align_eyes=cfg["align_eyes"],
                      cascade_path=cfg["cascade_path"],
                      eye_cascade_path=cfg["eye_cascade_path"])
  elif face is not None:
    from merjax.faces import pipeline as faces  # pylint: disable=import-outside-toplevel
    f = faces.apply_alignment(f, face, cfg, first)
  if cfg["grayscale"] and f.shape[-1] == 3:
    f = np.asarray(pp.rgb_to_gray(f))
  if cfg["size"]:
    f = pp.resize_frames_cv2(f, int(cfg["size"]))
  if cfg["equalize"]:
    f = np.asarray(pp.equalize_frames(f))
  return f


@functools.cache
def _spot_fn(T: int, rois: tuple | None = None):
  rois = None if rois is None else {n: tuple(v) for n, v in rois}
  return jax.jit(lambda f, L: apex_lib.spot_apex(f, L, rois=rois)[0])


def _apex_rois(cfg, face) -> tuple | None:
  """D&C-RoIs of a clip: None (apex.DEFAULT_ROIS fractions), or with apex_rois =
  landmarks the RoIs of its aligned landmarks, rounded to 1/50 (few compiles)."""
  if cfg.get("apex_rois") != "landmarks" or face is None or face.landmarks is None:
    return None
  from merjax.faces import regions  # pylint: disable=import-outside-toplevel
  rois = regions.dc_rois(face.landmarks, (face.size, face.size))
  return tuple((n, tuple(round(v * 50) / 50 for v in box)) for n, box in rois.items())


def _segment_apex(clip: Clip, cfg, L: int) -> int | None:
  """0-based apex in the onset..offset segment of L frames by preprocess
  apex_method; None when it is to be spotted (dc_rois) from the frames."""
  method = cfg["apex_method"]
  if method == "middle" or (method == "annotated" and clip.apex is None):
    return (L - 1) // 2
  if method == "dc_rois_always" or (method == "dc_rois" and clip.apex is None):
    return None
  return clip.apex - clip.onset


def _resample(clip: Clip, cfg, L: int, apex: int | None):
  """(frame indices or None, length, apex) after `num_frames` resampling."""
  if not cfg["num_frames"]:
    return None, L, apex
  idx = pp.sample_indices(L, int(cfg["num_frames"]), cfg["temporal_mode"])
  return idx, len(idx), None if apex is None else pp.nearest_index(idx, apex)


def segment_timing(clip: Clip, cfg) -> tuple[int, int | None]:
  """(length, apex) of the segment a modality sees: onset..offset, resampled to
  `num_frames`, apex 0-based by apex_method (None: spotted from the frames)."""
  L = clip.offset - clip.onset + 1
  _, L, apex = _resample(clip, cfg, L, _segment_apex(clip, cfg, L))
  return L, apex


def _prepare_clip(clip: Clip, cfg, bucket_T: int, names: Sequence[str] = (),
                  num_offsets: int = 0, face=None):
  """-> (segment uint8 bucket_T x S x S x C zero-padded, length, apex 0-based,
  offset windows T x num_offsets x S x S x C float32 or None).

  With temporal_mode "fdp_offsets" the windows hold every FDP start offset of the
  whole onset..offset segment (pp.offset_windows; the `frames` modality's output);
  the segment itself is the offset-0 sampling the other modalities see.

  A spotted apex (dc_rois) that leaves a modality of `names` without what it
  needs is a MerjaxError naming the clip (annotated apexes are screened first).
  `face`: the clip's FaceAlignment (None: no face step, or the Haar crop).
  """
  frames = clip.read_frames()
  if frames.ndim != 4:
    raise MerjaxError(f"{clip.source or clip.key}: frames must be T x H x W x C, "
                      f"got shape {frames.shape}")
  seg = _prepare_frames(frames[clip.onset:clip.offset + 1], cfg, face)
  L = seg.shape[0]
  apex = _segment_apex(clip, cfg, L)
  spotted = apex is None
  if spotted:
    padded = np.zeros((_round_up(L, cfg["bucket"]),) + seg.shape[1:], np.float32)
    padded[:L] = seg
    rois = _apex_rois(cfg, face)
    spot = _spot_fn(padded.shape[0]) if rois is None else _spot_fn(padded.shape[0], rois)
    apex = int(spot(padded, L))
  windows = None
  if cfg["temporal_mode"] == "fdp_offsets" and cfg["num_frames"]:
    windows = pp.offset_windows(seg, int(cfg["num_frames"]), num_offsets)
  idx, L, apex = _resample(clip, cfg, L, apex)
  if idx is not None:
    seg = seg[idx]
  if spotted:
    for name in names:
      need = registry.get(name).needs.unmet(L, apex, cfg)
      if need:
        raise MerjaxError(f"{_where(clip)}: modality '{name}' needs {need}, but the apex "
                          f"spotted by apex_method={cfg['apex_method']} is frame {apex} of the "
                          f"{L}-frame segment; annotate the apex or use another apex_method")
  out = np.zeros((bucket_T,) + seg.shape[1:], np.uint8)
  out[:L] = seg
  return out, L, apex, windows


def _where(clip: Clip) -> str:
  """`source (dataset/subject/clip)`, or the key alone."""
  return f"{clip.source} ({clip.key})" if clip.source else clip.key


# ---------------------------------------------------------------- what modalities need


ONSET_APEX_POLICIES = ("error", "drop")


def unusable_clips(clips: Sequence[Clip], inputs: Mapping[str, str],
                   preprocess: Mapping | None) -> list[tuple[int, str]]:
  """(index, one-line reason) of every clip a requested modality cannot use:
  its segment lacks what the modality needs (registry.Needs), e.g. onset ==
  apex for an onset->apex difference, or one frame (a manifest row) for a flow."""
  cfg = resolve_preprocess(preprocess)
  wanted = [(role, name, registry.get(name).needs) for role, name in inputs.items()
            if name in registry.MODALITIES and registry.get(name).needs.any]
  out = []
  if not wanted:
    return out
  for i, clip in enumerate(clips):
    L, apex = segment_timing(clip, cfg)
    for role, name, needs in wanted:
      need = needs.unmet(L, apex, cfg)
      if need:
        out.append((i, _reason(clip, role, name, need, L, apex, cfg)))
        break
  return out


def _reason(clip, role, name, need, L, apex, cfg) -> str:
  setting = "data.modality" if role == "image" else f"data.inputs.{role}"
  span = (f"its onset..offset segment has {L} frame{'s' if L != 1 else ''}"
          + ("" if apex is None else f", apex at frame {apex}"
             + (f" ({cfg['apex_method']})" if cfg["apex_method"] != "annotated" else "")))
  from_sheet = cfg["apex_method"] in ("annotated", "dc_rois") and clip.apex is not None
  if clip.num_frames == 1:
    hint = (f"; a one-frame clip (a manifest row) holds a precomputed image: use "
            f"{setting}=image")
  elif need == "an apex after the onset" and from_sheet and clip.apex == clip.onset:
    hint = "; the sheet gives onset == apex: data.onset_equals_apex=drop leaves such clips out"
  elif need == "an apex before the offset" and from_sheet and clip.apex == clip.offset:
    hint = "; the sheet gives apex == offset: data.onset_equals_apex=drop leaves such clips out"
  else:
    hint = "; data.onset_equals_apex=drop leaves such clips out"
  return f"{_where(clip)}: modality '{name}' ({setting}) needs {need}, {span}{hint}"


def screen_clips(clips: Sequence[Clip], inputs: Mapping[str, str],
                 preprocess: Mapping | None, onset_apex_policy: str = "error",
                 log=None, cache_dir: str | None = None, faces: bool = True) -> list[int]:
  """Indices of the clips to keep under `onset_apex_policy` (data.onset_equals_apex):

    error (default): any clip a requested modality cannot use (onset == apex for
      an onset->apex modality, apex == offset for an apex->offset one, too few
      frames for a dynamic image) is a MerjaxError naming the first such clip,
      the modality and how many more there are;
    drop: such clips are left out; `log` gets how many and which.
  Every clip is kept when no requested modality needs motion.
  With faces (default) and data.preprocess.face_policy = skip, the face step runs
  on the kept clips (cached in `cache_dir`, and in memory for the stage) and the
  clips where no face is found are left out too, each named in a warning.
  """
  if onset_apex_policy not in ONSET_APEX_POLICIES:
    raise MerjaxError(f"data.onset_equals_apex: '{onset_apex_policy}' is not one of "
                      f"{', '.join(ONSET_APEX_POLICIES)}")
  bad = unusable_clips(clips, inputs, preprocess)
  if not bad:
    keep = list(range(len(clips)))
    return _screen_faces(clips, keep, preprocess, log, cache_dir) if faces else keep
  if onset_apex_policy == "error" or len(bad) == len(clips):
    more = f" (and {len(bad) - 1} more of {len(clips)} clips)" if len(bad) > 1 else ""
    if onset_apex_policy == "drop":
      more = f" (and every other one of the {len(clips)} clips: drop would leave none)"
    raise MerjaxError(bad[0][1] + more)
  dropped = {i for i, _ in bad}
  if log is not None:
    names = ", ".join(clips[i].key for i in sorted(dropped))
    log(f"data.onset_equals_apex=drop: left out {len(dropped)} of {len(clips)} clips that "
        f"{', '.join(sorted(set(inputs.values())))} cannot use: {names}")
  keep = [i for i in range(len(clips)) if i not in dropped]
  return _screen_faces(clips, keep, preprocess, log, cache_dir) if faces else keep


def _screen_faces(clips, keep, preprocess, log, cache_dir) -> list[int]:
  """`keep` without the clips where no face is found, under face_policy = skip."""
  cfg = resolve_preprocess(preprocess)
  from merjax.faces import pipeline as faces  # pylint: disable=import-outside-toplevel
  if cfg["face_policy"] != "skip" or not faces.needs_detection(cfg):
    return keep
  results = faces.align_clips([clips[i] for i in keep], cfg, _face_cache(cache_dir))
  missing = [(i, r) for i, r in zip(keep, results, strict=True)
             if r is not None and r.status == "no_face"]
  if not missing:
    return keep
  if len(missing) == len(keep):
    raise MerjaxError(f"{faces.no_face_message(clips[missing[0][0]], missing[0][1], cfg)}; "
                      f"data.preprocess.face_policy=skip would leave none of the {len(keep)} "
                      f"clips")
  lines = "; ".join(faces.no_face_message(clips[i], r, cfg) for i, r in missing)
  msg = (f"data.preprocess.face_policy=skip: left out {len(missing)} of {len(keep)} clips "
         f"with no face found: {lines}")
  (log or logger.warning)(msg)
  dropped = {i for i, _ in missing}
  return [i for i in keep if i not in dropped]


def _face_cache(cache_dir: str | None) -> str | None:
  """Where the face step caches its per-clip results: the modality cache folder."""
  return cache_dir or None


def align_faces(clips: Sequence[Clip], cfg, cache_dir: str | None = None) -> list:
  """Every clip's face step (merjax.faces.pipeline.FaceAlignment; None when the
  face_pipeline detects nothing) under a resolved config, with face_policy
  applied: fail raises a MerjaxError naming the first clip (dataset/subject/clip,
  frame and file) and how many more; whole_frame replaces them by the centre
  square, each named in a warning; skip raises too (screen_clips leaves them out
  first)."""
  from merjax.faces import pipeline as faces  # pylint: disable=import-outside-toplevel
  results = faces.align_clips(clips, cfg, _face_cache(cache_dir))
  missing = [i for i, r in enumerate(results) if r is not None and r.status == "no_face"]
  if not missing:
    return results
  policy = cfg["face_policy"]
  first = faces.no_face_message(clips[missing[0]], results[missing[0]], cfg)
  more = f" (and {len(missing) - 1} more of {len(clips)} clips)" if len(missing) > 1 else ""
  if policy == "fail":
    raise MerjaxError(f"{first}{more}; data.preprocess.face_policy=skip leaves such clips "
                      f"out, whole_frame uses the whole frame")
  if policy == "skip":
    raise MerjaxError(f"{first}{more}; face_policy=skip: leave such clips out with "
                      f"stage.screen_clips first (experiment.load_labelled does)")
  for i in missing:
    logger.warning(f"[faces] {faces.no_face_message(clips[i], results[i], cfg)}; "
                   f"face_policy=whole_frame: using the whole frame")
    results[i] = faces.whole_frame(clips[i], cfg, results[i].frame)
  return results


def face_landmarks(clips: Sequence[Clip], preprocess: Mapping | None,
                   cache_dir: str | None = None) -> np.ndarray:
  """float32 N x 68 x 2 reference landmarks of each clip in the staged images'
  pixel coordinates (after the face step, `size` and `output_size`), for
  region masks (merjax.faces.regions); NaN for a clip without landmarks (a
  cropped release, whole_frame). Needs face_pipeline align or fdp_release."""
  cfg = resolve_preprocess(preprocess)
  from merjax.faces import pipeline as faces  # pylint: disable=import-outside-toplevel
  if not faces.needs_detection(cfg):
    raise MerjaxError("face_landmarks: data.preprocess.face_pipeline is "
                      f"{cfg['face_pipeline']!r}; landmarks need align or fdp_release")
  out = np.full((len(clips), 68, 2), np.nan, np.float32)
  for n, r in enumerate(align_faces(clips, cfg, cache_dir)):
    if r is not None and r.landmarks is not None:
      scale = (cfg["output_size"] or cfg["size"] or r.size) / r.size
      out[n] = (r.landmarks + 0.5) * scale - 0.5
  return out


def _round_up(n: int, m: int) -> int:
  m = max(int(m), 1)
  return -(-int(n) // m) * m


# ---------------------------------------------------------------- jitted passes


def _cfg_json(cfg) -> str:
  return json.dumps(cfg, sort_keys=True, default=str)


@functools.cache
def _segment_fn(name: str, cfg_json: str):
  cfg = json.loads(cfg_json)
  fn = registry.get(name).fn

  def one(seg_u8, L, a):
    return fn(seg_u8.astype(jnp.float32) / 255., L, a, cfg)
  return jax.jit(jax.vmap(one))


@functools.cache
def _flow_image_fn(name: str, cfg_json: str):
  cfg = json.loads(cfg_json)
  fn = registry.get(name).fn
  return jax.jit(jax.vmap(lambda fl: fn(fl, cfg)))


def _gray_u8(frames_NxHxWxC: np.ndarray) -> np.ndarray:
  f = np.asarray(frames_NxHxWxC)
  return np.asarray(pp.rgb_to_gray(f))[..., 0] if f.shape[-1] == 3 else f[..., 0]


def _compute_batch(name, segs, lengths, apexes, firsts, cfg, windows=None):
  """One modality for a batch: segs uint8 N x T x S x S x C (`windows`: the clips'
  offset windows under temporal_mode "fdp_offsets")."""
  mod = registry.get(name)
  L = np.asarray(lengths, np.int32)
  a = np.asarray(apexes, np.int32)
  if mod.kind == "segment":
    return np.asarray(_segment_fn(name, _cfg_json(cfg))(segs, L, a))
  if mod.kind == "flow":
    from merjax.modalities.flow import tvl1_flow_batch  # pylint: disable=import-outside-toplevel
    n = np.arange(len(segs))
    i0, i1 = (np.zeros_like(a), a) if mod.pair == "onset_apex" else (a, L - 1)
    flow = tvl1_flow_batch(_gray_u8(segs[n, i0]), _gray_u8(segs[n, i1]), **cfg["flow_params"])
    return np.asarray(_flow_image_fn(name, _cfg_json(cfg))(flow))
  if mod.kind == "frames":
    if windows is not None and windows[0] is not None:
      return np.stack(windows)                       # N x T x M x S x S x C, NaN-padded
    T = int(cfg["num_frames"] or cfg["frames_T"])
    idx = [pp.sample_indices(int(l), T, "linspace") for l in L]
    return np.stack([s[i] for s, i in zip(segs, idx)]).astype(np.float32) / 255.
  if mod.kind == "image":
    return np.stack(firsts).astype(np.float32) / 255.
  raise MerjaxError(f"modality '{name}': unknown kind '{mod.kind}'")


def _first_frame(clip: Clip, cfg, face=None) -> np.ndarray:
  f = clip.read_frames()[0]
  if face is not None:
    from merjax.faces import pipeline as faces  # pylint: disable=import-outside-toplevel
    f = faces.apply_alignment(f[None], face, cfg)[0]
  if cfg["size"]:
    f = pp.resize_frames_cv2(f[None], int(cfg["size"]))[0]
  return f


def compute_modalities(clips: Sequence[Clip], names: Sequence[str], cfg,
                       faces: Sequence | None = None) -> dict:
  """name -> float32 N x ... for every clip, no caching of the modalities.
  faces: each clip's face step (`align_faces`; computed here when None)."""
  names = list(dict.fromkeys(names))
  if faces is None:
    faces = align_faces(clips, cfg)
  for name in names:
    if registry.get(name).provisional:
      msg = (f"[stage] WARNING: '{name}' is a PROVISIONAL merjax interpretation, "
             f"not the published formula")
      logger.warning(msg)
  results = {name: [None] * len(clips) for name in names}
  only_image = all(registry.get(n).kind == "image" for n in names)
  if only_image:
    firsts = [_first_frame(c, cfg, f) for c, f in zip(clips, faces, strict=True)]
    _check_shapes(firsts, clips)
    return {n: _resize_outputs(np.stack(firsts).astype(np.float32) / 255., cfg["output_size"])
            for n in names}
  # temporal_mode "fdp_offsets": every clip's windows get the most offsets of any clip.
  num_offsets = max(pp.fdp_num_offsets(c.offset - c.onset + 1, int(cfg["num_frames"] or 1))
                    for c in clips)
  buckets: dict[int, list[int]] = {}
  for i, c in enumerate(clips):
    buckets.setdefault(_round_up(_segment_length(c, cfg), cfg["bucket"]), []).append(i)
  done, bs = 0, max(int(cfg["batch_size"]), 1)
  for T in sorted(buckets):
    members = buckets[T]
    for start in range(0, len(members), bs):
      chunk = members[start:start + bs]
      prepared = [_prepare_clip(clips[i], cfg, T, names, num_offsets, faces[i]) for i in chunk]
      _check_shapes([p[0] for p in prepared], [clips[i] for i in chunk])
      firsts = ([_first_frame(clips[i], cfg, faces[i]) for i in chunk]
                if any(registry.get(n).kind == "image" for n in names) else None)
      # Pad the batch to a power of two (<= batch_size) with copies of its first
      # clip, so that few batch shapes get compiled; the copies are dropped.
      n_pad = min(bs, 1 << (len(chunk) - 1).bit_length()) - len(chunk)
      prepared = prepared + [prepared[0]] * n_pad
      firsts = firsts + [firsts[0]] * n_pad if firsts else firsts
      segs = np.stack([p[0] for p in prepared])
      for name in names:
        out = _compute_batch(name, segs, [p[1] for p in prepared],
                             [p[2] for p in prepared], firsts, cfg,
                             [p[3] for p in prepared])[:len(chunk)]
        for i, x in zip(chunk, out):
          results[name][i] = x
      done += len(chunk)
      logger.info(f"[stage] {','.join(names)}: {done}/{len(clips)} clips")
  shapes = {n: {r.shape for r in results[n]} for n in names}
  for n, s in shapes.items():
    if len(s) != 1:
      raise MerjaxError(f"modality '{n}': clips give different shapes {sorted(s)}; "
                        f"set preprocess 'size'")
  return {n: _resize_outputs(np.stack(results[n]).astype(np.float32), cfg["output_size"])
          for n in names}


def _resize_outputs(x_Nx___xC: np.ndarray, size) -> np.ndarray:
  """Resizes the trailing H x W of every image (N x H x W x C or N x T x H x W x C)
  to size x size with INTER_AREA; None keeps the size."""
  if not size or x_Nx___xC.shape[-3:-1] == (size, size):
    return x_Nx___xC
  lead, (h, w, c) = x_Nx___xC.shape[:-3], x_Nx___xC.shape[-3:]
  out = pp.resize_frames_cv2(x_Nx___xC.reshape((-1, h, w, c)), int(size))
  return out.reshape(lead + (size, size, c))


def _check_shapes(arrays, clips):
  shapes = {a.shape[-3:] for a in arrays}
  if len(shapes) > 1:
    raise MerjaxError(f"clips {clips[0].key}...: frame sizes differ {sorted(shapes)}; "
                      f"set preprocess 'size'")


# ---------------------------------------------------------------- entry point


def _read_cache(path: str, keys: list[str]) -> np.ndarray | None:
  """The cached float32 array at `path` when it holds `keys`; None otherwise. A
  damaged file (truncated, not an npz, missing arrays) is logged, deleted and
  recomputed by the caller."""
  try:
    with np.load(path) as z:
      if list(z["keys"]) != keys:
        return None
      return z["x"].astype(np.float32)
  except Exception as e:  # pylint: disable=broad-except  # zipfile, pickle, OS, value errors
    logger.warning(f"[stage] {path}: damaged cache file ({type(e).__name__}); deleted, "
                   f"recomputing")
    with contextlib.suppress(OSError):
      os.remove(path)
    return None



def stage_inputs(clips: Sequence[Clip], inputs: Mapping[str, str],
                 preprocess: Mapping | None, cache_dir: str | None = None,
                 fingerprint: str = "", input_scale: float = 1.0,
                 channel_order: str = "rgb") -> dict[str, np.ndarray]:
  """Computes every input role's modality for every clip, times `input_scale`, its
  channels reversed when `channel_order` is "bgr" (data.input_scale, data.channel_order:
  applied here, once; the cache holds the unscaled RGB arrays).

  Args:
    clips: N clips.
    inputs: role -> modality name, e.g. {"image": "onset_apex_diff"}.
    preprocess: keys of PREPROCESS_DEFAULTS (docs/modalities.md).
    cache_dir: where to cache each modality (npz); None = no cache.
    fingerprint: extra string folded into the cache key (e.g. a frame root).
  Returns:
    role -> float32 array N x S x S x C (`frames`: N x T x S x S x C).
  """
  for role, name in inputs.items():
    if name not in registry.MODALITIES:
      raise MerjaxError(f"unknown modality '{name}' for input '{role}'; known: "
                        f"{', '.join(sorted(registry.MODALITIES))}")
  if not clips:
    raise MerjaxError("stage_inputs: no clips")
  cfg = resolve_preprocess(preprocess)
  screen_clips(clips, inputs, cfg, "error", faces=False)
  names = list(dict.fromkeys(inputs.values()))
  arrays, paths = {}, {}
  from merjax.faces import pipeline as faces  # pylint: disable=import-outside-toplevel
  if faces.needs_detection(cfg):   # the detector and its version key the cache too
    fingerprint = f"{fingerprint}|faces:{json.dumps(faces.face_options(cfg), sort_keys=True)}"
  if cache_dir:
    fp = dataset_fingerprint(clips)
    for name in names:
      paths[name] = cache_path(cache_dir, name, cache_key(fp, name, cfg, fingerprint))
      if os.path.isfile(paths[name]):
        x = _read_cache(paths[name], [c.key for c in clips])
        if x is not None:
          arrays[name] = x
          logger.info(f"[stage] {name}: cached {paths[name]}")
  missing = [n for n in names if n not in arrays]
  if missing:
    if faces.needs_detection(cfg):
      arrays.update(compute_modalities(clips, missing, cfg,
                                       faces=align_faces(clips, cfg, cache_dir)))
    else:
      arrays.update(compute_modalities(clips, missing, cfg))
    if cache_dir:
      os.makedirs(cache_dir, exist_ok=True)
      for name in missing:
        tmp = paths[name] + ".tmp.npz"
        np.savez(tmp, x=arrays[name], keys=np.asarray([c.key for c in clips]))
        os.replace(tmp, paths[name])
  if input_scale != 1.0:
    arrays = {n: (x * np.float32(input_scale)).astype(np.float32) for n, x in arrays.items()}
  if channel_order == "bgr":
    arrays = {n: np.ascontiguousarray(x[..., ::-1]) for n, x in arrays.items()}
  return {role: arrays[name] for role, name in inputs.items()}
