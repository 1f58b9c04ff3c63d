"""The clip record every loader yields and every modality consumes."""

from __future__ import annotations

import collections
import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from merjax.errors import MerjaxError


@dataclasses.dataclass(frozen=True)
class Clip:
  """One micro-expression sample.

  Attributes:
    dataset: dataset name, e.g. "casme2", "synthetic".
    subject: subject id as the dataset writes it ("sub01", "006", "s1").
    clip_id: clip name unique within (dataset, subject), e.g. "EP02_01f".
    label: the dataset's own emotion name (protocols map it to classes).
    frames: either an in-memory uint8 array T x H x W x C (C = 1 or 3), or a
      tuple of T image file paths in temporal order.
    onset, apex, offset: 0-based indices into `frames`. `apex` is None when the
      dataset has no apex annotation (SMIC); onset <= apex <= offset.
    action_units: FACS codes if annotated, e.g. ("AU4", "AU7").
    source: where the record came from, for error messages ("file.xlsx row 12").
  """
  dataset: str
  subject: str
  clip_id: str
  label: str
  frames: np.ndarray | tuple[str, ...]
  onset: int
  apex: int | None
  offset: int
  action_units: tuple[str, ...] = ()
  source: str = ""

  def __post_init__(self):
    n = self.num_frames
    where = self.source or self.key
    if not 0 <= self.onset <= self.offset < n:
      raise MerjaxError(
          f"{where}: onset {self.onset} / offset {self.offset} outside the "
          f"clip's {n} frames")
    if self.apex is not None and not self.onset <= self.apex <= self.offset:
      raise MerjaxError(
          f"{where}: apex {self.apex} outside onset..offset "
          f"{self.onset}..{self.offset}")

  @property
  def key(self) -> str:
    """Globally unique name: dataset/subject/clip_id."""
    return f"{self.dataset}/{self.subject}/{self.clip_id}"

  @property
  def num_frames(self) -> int:
    return len(self.frames)

  @property
  def apex_or_middle(self) -> int:
    """The annotated apex, or the middle of onset..offset when unknown."""
    if self.apex is not None:
      return self.apex
    return (self.onset + self.offset) // 2

  def read_frames(self) -> np.ndarray:
    """Returns the frames as uint8 T x H x W x C, reading files if needed.

    Frame files of different sizes are a MerjaxError naming the clip and the
    first odd file (the clip's usual size = its most common one).
    """
    if isinstance(self.frames, np.ndarray):
      return self.frames
    images = [read_image(p) for p in self.frames]
    odd = odd_frame(self.frames, [im.shape for im in images])
    if odd is not None:
      raise MerjaxError(f"{self.source or self.key} ({self.key}): {odd}")
    return np.stack(images)


def read_image(path: str) -> np.ndarray:
  """Reads one image file as uint8 H x W x 3 (RGB); MerjaxError if unreadable."""
  import cv2  # Imported here: loaders of in-memory data never need OpenCV.
  if not os.path.isfile(path):
    raise MerjaxError(f"{path}: frame file missing")
  image = cv2.imread(path, cv2.IMREAD_COLOR)
  if image is None:
    raise MerjaxError(f"{path}: not a readable image")
  return image[..., ::-1].copy()


def odd_frame(paths: Sequence[str], shapes: Sequence[tuple]) -> str | None:
  """None when every frame has one shape, else a message naming the first frame
  file whose size differs from the most common one."""
  if len(set(shapes)) <= 1:
    return None
  usual = collections.Counter(shapes).most_common(1)[0][0]
  i = next(i for i, s in enumerate(shapes) if s != usual)
  size = lambda s: "x".join(str(v) for v in s[:2]) + (f"x{s[2]}" if len(s) > 2 else "")
  others = sum(s != usual for s in shapes)
  return (f"frame file {paths[i]} is {size(shapes[i])}, the clip's other frames "
          f"{size(usual)} ({others} of {len(shapes)} frames differ)")


def subjects_of(clips: Sequence[Clip]) -> list[str]:
  """Subject keys "dataset/subject" of each clip (unique across datasets)."""
  return [f"{c.dataset}/{c.subject}" for c in clips]
