"""MMEW: `MMEW_Micro_Exp.xlsx` + `Micro_Expression/<emotion>/<S01-01-001>/<N>.jpg`.

First sheet, header row 1: Subject, Filename, OnsetFrame, ApexFrame,
OffsetFrame, Action Units, Estimated Emotion, remarks. Frame folders are
grouped by emotion, not subject: a clip's folder is found by its name in any
emotion folder, and the subject is the clip's `Sxx` prefix. Frame numbers map
to positions in the folder's files sorted by N (the tuple is the whole folder).

Options: annotation, problems / collect_errors.
"""

from __future__ import annotations

import os
import re

from merjax.data import sheets
from merjax.data.sheets import RowError, cell, text

NAME = "mmew"
PATTERNS = ("MMEW_Micro_Exp*.xlsx",)
LABELS = ("happiness", "surprise", "disgust", "fear", "sadness", "anger", "others")
COLUMNS = {"filename": ("Filename",), "onset": ("OnsetFrame",), "apex": ("ApexFrame",),
           "offset": ("OffsetFrame",), "aus": ("Action Units",), "emotion": ("Estimated Emotion",)}
FRAME_PATTERN = r"(\d+)\.(?:jpg|jpeg|png|bmp)"


# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"annotation": None}


def _clip_folders(path, micro):
  """Clip name (lower case) -> its folder, over every emotion folder of `micro`."""
  return {d.lower(): os.path.join(micro, e, d)
          for e in sorted(os.listdir(micro)) if os.path.isdir(os.path.join(micro, e))
          for d in os.listdir(os.path.join(micro, e))}


def _clip(row, where, copy):
  """The clip of one sheet row; the subject is the Filename's `Sxx` prefix."""
  cols = copy.cols
  name = text(cell(row, cols["filename"]))
  m = re.match(r"(S\d+)", name, re.IGNORECASE)
  if not m:
    raise RowError(f"Filename '{name}' does not start with a subject (S01-...)")
  folder = copy.prepared.get(name.lower())
  if folder is None:
    raise RowError(f"no clip folder {name} in any emotion folder of {copy.frames_dir}")
  return sheets.make_clip(
      dataset=NAME, subject=m.group(1).upper(), clip_id=name,
      label=sheets.check_label(text(cell(row, cols["emotion"])), LABELS, "Estimated Emotion"),
      folder=folder, pattern=FRAME_PATTERN,
      onset=sheets.need_int(cell(row, cols["onset"]), "OnsetFrame"),
      apex=sheets.need_int(cell(row, cols["apex"]), "ApexFrame"),
      offset=sheets.need_int(cell(row, cols["offset"]), "OffsetFrame"),
      aus=sheets.parse_aus(cell(row, cols["aus"])), source=where)


SPEC = sheets.SheetDataset(
    name=NAME, what="MMEW", options=OPTIONS, patterns=PATTERNS,
    frames={None: ("Micro_Expression",)}, no_frames="no MMEW Micro_Expression folder",
    columns=COLUMNS, prepare=_clip_folders, clip=_clip)


def load(root: str, protocol: str | None = None, **options):
  """MMEW micro-expression clips (labels = Estimated Emotion, lower case)."""
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)
