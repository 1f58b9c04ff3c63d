"""SAMM: `SAMM_Micro_FACS_Codes_v2.xlsx` + `SAMM/<006>/<Filename>/<006>_<05562>.jpg`.

Options:
  annotation: path of the FACS-codes sheet (default: found under root).
  frames: "raw" (folder `SAMM`, default) or "cropped" (`SAMM_CROP` and
    similar names; same tree shape).
  frames_dir: the folder holding the 3-digit subject folders.
  problems / collect_errors: see `merjax.data.sheets.Report`.

Sheet `MICRO_ONLY`, header on Excel row 14 (13 rows of notes above it).
Subject N -> folder `%03d`. Frame numbers are the absolute numbers in the file
names; they map to positions in the clip folder's files sorted by number (the
tuple is the whole folder).
Policies (reported): the two known apexes outside onset..offset (028_4_1 apex
1143, 032_3_1 apex 1930) are replaced by the values MEB uses (1105, 4945); the
rows of `ROW_FIXES`, known only by their Excel row (MEB's third apex, 5130, and
its offset 5739), get MEB's number when the row as written gives no clip; any
other apex outside onset..offset is an error.
"""

from __future__ import annotations

import re

from merjax.data import sheets
from merjax.data.sheets import RowError, cell, text

NAME = "samm"
PATTERNS = ("SAMM_Micro_FACS_Codes_v2.xlsx", "SAMM_*Micro_FACS_Codes*.xlsx")
SHEET = "MICRO_ONLY"
HEADER_ROW = 14
LABELS = ("anger", "contempt", "disgust", "fear", "happiness", "other", "sadness", "surprise")
COLUMNS = {
    "subject": ("Subject",), "filename": ("Filename",),
    "onset": ("Onset Frame",), "apex": ("Apex Frame",), "offset": ("Offset Frame",),
    "aus": ("Action Units",), "emotion": ("Estimated Emotion",),
}
FRAME_PATTERN = r"\d+_(\d+)\.(?:jpg|jpeg|png|bmp)"
FRAMES = {"raw": ("SAMM",), "cropped": ("SAMM_CROP", "SAMM_cropped", "SAMM_Crop", "cropped")}
# (clip, apex in the sheet) -> apex used; MEB's corrections (tvaranka/meb).
APEX_FIXES = {("028_4_1", 1143): 1105, ("032_3_1", 1930): 4945}
# Excel row -> MEB's number for it, used only when the row as written gives no clip
# (tvaranka/meb, meb/datasets/datasets.py `SAMM`: pandas rows 133 (apex 5130) and 56
# (offset 5739) of the frame read with its header on Excel row 14, i.e. Excel row =
# pandas row + 15). Row 148 follows 032_3_1 (MEB's row 132) in MEB's sheet.
ROW_FIXES = {148: {"apex": 5130}, 71: {"offset": 5739}}


def subject_folder(value) -> str:
  """`006` from 6, 6.0, "6" or "006"."""
  t = text(value)
  if not re.fullmatch(r"\d+", t):
    raise RowError(f"Subject '{t}' is not a subject number")
  return f"{int(t):03d}"


# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"annotation": None, "frames": "raw", "frames_dir": None}


def _clip(row, where, copy):
  """The clip of one MICRO_ONLY row (MEB's corrections applied to the known-bad rows)."""
  cols = copy.cols
  subject, name = sheets.subject_and_name(row, cols, subject_folder)
  cells = {k: (COLUMNS[k][0], cell(row, cols[k])) for k in ("onset", "apex", "offset")}
  fix = ROW_FIXES.get(sheets.excel_row(where))
  try:
    apex = sheets.as_int(cells["apex"][1])
  except ValueError:
    apex = None
  if (name, apex) in APEX_FIXES:
    fix = {"apex": APEX_FIXES[(name, apex)]}

  def make(onset, apex, offset):
    return sheets.coded_clip(row, where, copy, dataset=NAME, labels=LABELS, pattern=FRAME_PATTERN,
                             subject=subject, name=name, onset=onset, apex=apex, offset=offset)

  return sheets.clip_with_fixes(f"{where} ({name})", cells, make, copy.report, fix=fix)

SPEC = sheets.SheetDataset(
    name=NAME, what="SAMM", options=OPTIONS, patterns=PATTERNS, frames=FRAMES,
    subject_dirs=r"\d{3}", no_frames="no SAMM frame folder ({names}) with 3-digit subject folders",
    sheet=SHEET, header_row=HEADER_ROW, columns=COLUMNS, clip=_clip)


def load(root: str, protocol: str | None = None, **options):
  """SAMM clips (labels = Estimated Emotion, lower case: 'other', 'anger', ...)."""
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)
