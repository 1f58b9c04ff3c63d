"""MMEW: `MMEW_Micro_Exp.xlsx` + `Micro_Expression/<emotion>/<S01-01-001>/<N>.jpg`.

First sheet, header row 1: Subject, Filename, OnsetFrame, ApexFrame,
OffsetFrame, Action Units, Estimated Emotion, remarks. Frame folders are
grouped by emotion, not subject: a clip's folder is found by its name in any
emotion folder, and the subject is the clip's `Sxx` prefix. Frame numbers map
to positions in the folder's files sorted by N (the tuple is the whole folder).

Policies (reported):
  the 16 known-bad Excel rows of `ROW_FIXES` (MEB replaces their apex and
    offset): MEB's apex and offset, when the row as written gives no clip;
  any other row whose apex alone is unusable (not a number, outside
    onset..offset): apex set to unknown (None).

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
# Excel row -> MEB's apex and offset for it (tvaranka/meb, meb/datasets/datasets.py
# `MMEW`, pandas rows 33, 35-42, 142, 143, 145, 146, 148, 154, 156: "incorrect apex
# and offset"). Excel row = pandas row + 2 (header on row 1).
ROW_FIXES = {
    row: {"apex": apex, "offset": offset} for row, apex, offset in zip(
        (35, 37, 38, 39, 40, 41, 42, 43, 44, 144, 145, 147, 148, 150, 156, 158),
        (40, 15, 46, 20, 25, 20, 23, 28, 32, 56, 32, 27, 22, 29, 31, 38),
        (75, 54, 59, 98, 80, 93, 58, 61, 68, 88, 80, 85, 61, 108, 72, 106))
}


# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"annotation": None}


def _clip_folders(path, micro):
  """Clip name (lower case) -> its folder, over every emotion folder of `micro`."""
  return {d.lower(): os.path.join(micro, e, d)
          for e in sorted(os.listdir(micro)) if os.path.isdir(os.path.join(micro, e))
          for d in os.listdir(os.path.join(micro, e))}


def _clip(row, where, copy):
  """The clip of one sheet row (known-bad rows and unusable apexes by policy); the
  subject is the Filename's `Sxx` prefix."""
  cols = copy.cols
  name = text(cell(row, cols["filename"]))
  m = re.match(r"(S\d+)", name, re.IGNORECASE)
  if not m:
    raise RowError(f"Filename '{name}' does not start with a subject (S01-...)")
  folder = copy.prepared.get(name.lower())
  if folder is None:
    raise RowError(f"no clip folder {name} in any emotion folder of {copy.frames_dir}")
  label = sheets.check_label(text(cell(row, cols["emotion"])), LABELS, "Estimated Emotion")
  aus = sheets.parse_aus(cell(row, cols["aus"]))

  def make(onset, apex, offset):
    return sheets.make_clip(dataset=NAME, subject=m.group(1).upper(), clip_id=name, label=label,
                            folder=folder, pattern=FRAME_PATTERN, onset=onset, apex=apex,
                            offset=offset, aus=aus, source=where)

  cells = {"onset": ("OnsetFrame", cell(row, cols["onset"])),
           "apex": ("ApexFrame", cell(row, cols["apex"])),
           "offset": ("OffsetFrame", cell(row, cols["offset"]))}
  return sheets.clip_with_fixes(f"{where} ({name})", cells, make, copy.report,
                                fix=ROW_FIXES.get(sheets.excel_row(where)), apex_unknown=True)


SPEC = sheets.SheetDataset(
    name=NAME, what="MMEW", options=OPTIONS, patterns=PATTERNS,
    frames={None: ("Micro_Expression",)}, no_frames="no MMEW Micro_Expression folder",
    columns=COLUMNS, prepare=_clip_folders, clip=_clip)


def load(root: str, protocol: str | None = None, **options):
  """MMEW micro-expression clips (labels = Estimated Emotion, lower case)."""
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)
