"""The modality stage: clips -> one array per model input role.

`stage_inputs` is the only entry point the trainer and CLIs use.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import cv2
import numpy as np

from merjax.data.records import Clip
from merjax.errors import MerjaxError


def _resize(frame_HxWxC: np.ndarray, size: int) -> np.ndarray:
  out = cv2.resize(frame_HxWxC, (size, size), interpolation=cv2.INTER_AREA)
  return out.reshape(size, size, -1)


def _minmax(x: np.ndarray) -> np.ndarray:
  """Per-channel min-max scaling of H x W x C to [0, 1]."""
  lo = x.min(axis=(0, 1), keepdims=True)
  hi = x.max(axis=(0, 1), keepdims=True)
  return (x - lo) / np.maximum(hi - lo, 1e-8)


def _apex(frames, clip):
  return frames[clip.apex_or_middle]


def _onset_apex_diff(frames, clip):
  return _minmax(np.abs(frames[clip.apex_or_middle] - frames[clip.onset]))


def _image(frames, clip):
  return frames[0]


# name -> fn(frames_TxHxWxC float32 in [0, 1], clip) -> H x W x C.
MODALITIES = {
    "apex": _apex,
    "onset_apex_diff": _onset_apex_diff,
    "image": _image,
}


def stage_inputs(clips: Sequence[Clip], inputs: Mapping[str, str],
                 preprocess: Mapping) -> dict[str, np.ndarray]:
  """Computes every input role's modality for every clip.

  Args:
    clips: N clips.
    inputs: role -> modality name, e.g. {"image": "onset_apex_diff"}.
    preprocess: {"size": S, "grayscale": bool}.
  Returns:
    role -> float32 array N x S x S x C.
  """
  for role, name in inputs.items():
    if name not in MODALITIES:
      raise MerjaxError(f"unknown modality '{name}' for input '{role}'; known: "
                        f"{', '.join(sorted(MODALITIES))}")
  size = int(preprocess["size"])
  out = {role: [] for role in inputs}
  for clip in clips:
    frames = clip.read_frames()
    if preprocess.get("grayscale") and frames.shape[-1] == 3:
      frames = frames.mean(-1, keepdims=True).astype(np.uint8)
    frames = np.stack([_resize(f, size) for f in frames]).astype(np.float32) / 255.
    for role, name in inputs.items():
      out[role].append(MODALITIES[name](frames, clip))
  return {role: np.stack(x).astype(np.float32) for role, x in out.items()}
