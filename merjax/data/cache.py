"""Decoded-frame cache: decode (and crop/resize) every clip once into an npz file.

The file name is a hash of (dataset root, loader name and config,
preprocessing config, clip keys and frame counts, CODE_VERSION), so a change
to any of them makes a fresh file; later runs with the same key just read it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from typing import Sequence

import numpy as np

from merjax.data.records import Clip
from merjax.errors import MerjaxError

CODE_VERSION = "1"


def cache_key(root: str, loader: str, loader_config: dict, preprocess: dict,
              clips: Sequence[Clip]) -> str:
  payload = json.dumps({
      "root": os.path.abspath(root), "loader": loader, "config": loader_config,
      "preprocess": preprocess, "version": CODE_VERSION,
      "clips": [(c.key, c.num_frames) for c in clips]}, sort_keys=True, default=str)
  return hashlib.sha256(payload.encode()).hexdigest()[:24]


def preprocess_frames(frames: np.ndarray, size: int | tuple[int, int] | None = None,
                      crop: tuple[int, int, int, int] | None = None,
                      gray: bool = False) -> np.ndarray:
  """T x H x W x C uint8 -> cropped (y0, x0, y1, x1), resized (H, W), optional gray."""
  import cv2
  if crop is not None:
    y0, x0, y1, x1 = crop
    frames = frames[:, y0:y1, x0:x1]
  if size is not None:
    h, w = (size, size) if isinstance(size, int) else size
    frames = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    if frames.ndim == 3:
      frames = frames[..., None]
  if gray and frames.shape[-1] == 3:
    frames = np.round(frames @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)[..., None]
  return frames


def cached_clips(clips: Sequence[Clip], *, root: str, loader: str, cache_dir: str,
                 loader_config: dict | None = None, size=None, crop=None, gray: bool = False,
                 progress: bool = True) -> list[Clip]:
  """The clips with `frames` replaced by decoded, preprocessed in-memory arrays."""
  preprocess = {"size": size, "crop": crop, "gray": gray}
  key = cache_key(root, loader, loader_config or {}, preprocess, clips)
  path = os.path.join(cache_dir, f"{loader}-{key}.npz")
  if os.path.isfile(path):
    arrays = _read(path, len(clips))
  else:
    arrays = _decode(clips, preprocess, progress)
    _write(path, arrays)
  return [dataclasses.replace(c, frames=a) for c, a in zip(clips, arrays)]


def _decode(clips, preprocess, progress):
  arrays, start = [], time.time()
  for i, clip in enumerate(clips, 1):
    arrays.append(preprocess_frames(clip.read_frames(), **preprocess))
    if progress and (i % 25 == 0 or i == len(clips)):
      print(f"\rcache: decoded {i}/{len(clips)} clips ({time.time() - start:.1f} s)",
            end="\n" if i == len(clips) else "", file=sys.stderr, flush=True)
  return arrays


def _write(path, arrays):
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  lengths = np.array([len(a) for a in arrays])
  shapes = {a.shape[1:] for a in arrays}
  tmp = path + ".tmp.npz"
  if len(shapes) == 1:
    np.savez(tmp, frames=np.concatenate(arrays), lengths=lengths)
  else:  # frames of different sizes (no resize): one array per clip.
    np.savez(tmp, lengths=lengths, **{f"clip{i}": a for i, a in enumerate(arrays)})
  os.replace(tmp, path)


def _read(path, n):
  try:
    with np.load(path) as data:
      lengths = data["lengths"]
      if len(lengths) != n:
        raise MerjaxError(f"{path}: cache holds {len(lengths)} clips, expected {n}")
      if "frames" in data:
        return np.split(data["frames"], np.cumsum(lengths)[:-1])
      return [data[f"clip{i}"] for i in range(n)]
  except (OSError, ValueError, KeyError) as e:
    raise MerjaxError(f"{path}: unreadable cache file ({type(e).__name__}); delete it") from None
