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
Policy: the two known apexes outside onset..offset (028_4_1 apex 1143,
032_3_1 apex 1930) are replaced by the values MEB uses (1105, 4945) and
reported; any other apex outside onset..offset is an error.
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


def subject_folder(value) -> str:
  """`006` from 6, 6.0, "6" or "006"."""
  t = text(value)
  if not re.fullmatch(r"\d+", t):
    raise RowError(f"Subject '{t}' is not a subject number")
  return f"{int(t):03d}"


# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"annotation": None, "frames": "raw", "frames_dir": None}


def _clip(row, where, copy):
  """The clip of one MICRO_ONLY row (MEB's apex corrections applied)."""
  cols = copy.cols
  subject, name = sheets.subject_and_name(row, cols, subject_folder)
  onset = sheets.need_int(cell(row, cols["onset"]), "Onset Frame")
  apex = sheets.need_int(cell(row, cols["apex"]), "Apex Frame")
  offset = sheets.need_int(cell(row, cols["offset"]), "Offset Frame")
  fixed = APEX_FIXES.get((name, apex))
  if fixed is not None and not onset <= apex <= offset:
    copy.report.note(f"{where} ({name})", f"apex {apex} outside onset..offset {onset}..{offset}",
                     f"apex set to {fixed} (MEB's correction)")
    apex = fixed
  return sheets.coded_clip(row, where, copy, dataset=NAME, labels=LABELS, pattern=FRAME_PATTERN,
                           subject=subject, name=name, onset=onset, apex=apex, offset=offset)


SPEC = sheets.SheetDataset(
    name=NAME, what="SAMM", options=OPTIONS, patterns=PATTERNS, frames=FRAMES,
    subject_dirs=r"\d{3}", no_frames="no SAMM frame folder ({names}) with 3-digit subject folders",
    sheet=SHEET, header_row=HEADER_ROW, columns=COLUMNS, clip=_clip)


def load(root: str, protocol: str | None = None, **options):
  """SAMM clips (labels = Estimated Emotion, lower case: 'other', 'anger', ...)."""
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)
