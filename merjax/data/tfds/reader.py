"""Reads a prepared merjax TFDS dataset back as Clip records (registry name "tfds").

  clips = load_clips("casme2/casme2_5class", data_dir="~/tensorflow_datasets")
  clips = load("~/tensorflow_datasets/casme2/casme2_5class/1.0.0")   # registry form

Clips come back in the loader's order with in-memory uint8 T x H x W x 3
frames, `label` = the dataset's own emotion name (so label protocols apply
exactly as on the loader's clips) and apex None where the dataset has none.
Reading uses `as_data_source` on array_record files: no TensorFlow.
"""

from __future__ import annotations

import os

import numpy as np

from merjax.data.records import Clip
from merjax.errors import MerjaxError

INFO_FILE = "dataset_info.json"
UNKNOWN_APEX = -1     # the stored apex when the dataset gives none
AU_SEPARATOR = "+"    # joins Clip.action_units into the stored text


def import_tfds():
  """tensorflow_datasets, or a MerjaxError saying how to install it."""
  try:
    import tensorflow_datasets  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise MerjaxError("tensorflow-datasets is not installed: pip install 'merjax[tfds]'") from None
  return tensorflow_datasets


def _text(value) -> str:
  return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def clip_of(example: dict) -> Clip:
  """The Clip of one decoded example (apex -1 -> None, '+'-joined AUs -> tuple)."""
  apex = int(example["apex"])
  aus = _text(example["action_units"])
  return Clip(
      dataset=_text(example["dataset"]), subject=_text(example["subject"]),
      clip_id=_text(example["clip_id"]), label=_text(example["emotion"]),
      frames=np.asarray(example["frames"], np.uint8), onset=int(example["onset"]),
      apex=None if apex == UNKNOWN_APEX else apex, offset=int(example["offset"]),
      action_units=tuple(aus.split(AU_SEPARATOR)) if aus else (), source=_text(example["source"]))


def _read(builder, split: str) -> list[Clip]:
  where = os.fspath(builder.data_dir)
  if split not in builder.info.splits:
    raise MerjaxError(f"{where}: no split '{split}' (has {', '.join(builder.info.splits)})")
  source = builder.as_data_source(split=split)
  examples = [source[i] for i in range(len(source))]
  examples.sort(key=lambda e: int(e["index"]))
  return [clip_of(e) for e in examples]


def load_clips(name: str, data_dir: str | None = None, split: str = "train") -> list[Clip]:
  """Clips of the prepared dataset `name` ("casme2" or "casme2/casme2_5class") in `data_dir`."""
  tfds = import_tfds()
  from merjax.data.tfds import builders  # pylint: disable=import-outside-toplevel
  builders.builder_class(name.split("/")[0].split(":")[0])
  data_dir = os.path.expanduser(data_dir) if data_dir else None
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except (ValueError, AssertionError) as e:  # what tfds raises for a bad name/config/version
    raise MerjaxError(f"TFDS dataset '{name}': {str(e).splitlines()[0]}") from None
  if not builder.is_prepared():
    raise MerjaxError(f"{builder.data_dir}: '{name}' is not prepared; run "
                      f"python -m merjax.data.tfds.prepare (docs/datasets.md, TFDS)")
  return _read(builder, split)


def find_prepared(root: str, depth: int = 3) -> str:
  """The one prepared dataset folder (holding dataset_info.json) at or under `root`."""
  root = os.path.expanduser(root)
  if not os.path.isdir(root):
    raise MerjaxError(f"{root}: folder not found")
  found = []
  for path, dirs, files in os.walk(root):
    if INFO_FILE in files:
      found.append(path)
      dirs.clear()
    elif path != root and os.path.relpath(path, root).count(os.sep) + 1 >= depth:
      dirs.clear()
    dirs[:] = sorted(d for d in dirs if not d.startswith((".", "incomplete")) and d != "downloads")
  if len(found) != 1:
    what = "none" if not found else ", ".join(os.path.relpath(p, root) for p in found)
    raise MerjaxError(f"{root}: expected one prepared TFDS dataset ({INFO_FILE}) "
                      f"within {depth} levels, found {what}")
  return found[0]


OPTIONS = {"split": "train"}


def load(root: str, protocol: str | None = None, **options) -> list[Clip]:
  """Registry loader: clips of the prepared dataset at or under `root`
  (e.g. `<data_dir>/casme2/casme2_5class/1.0.0`), optionally filtered by `protocol`.
  Options: split (default "train"); problems / collect_errors are accepted (nothing
  to report: the loader's problems were handled when the copy was prepared)."""
  from merjax.data import sheets  # pylint: disable=import-outside-toplevel
  sheets.report_of(options)
  opts = sheets.take_options(options, OPTIONS)
  tfds = import_tfds()
  path = find_prepared(root)
  try:
    builder = tfds.builder_from_directory(path)
  except Exception as e:  # pylint: disable=broad-except
    raise MerjaxError(f"{path}: not a readable TFDS dataset ({type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''})") from None
  return sheets.filter_protocol(_read(builder, opts["split"]), protocol)
