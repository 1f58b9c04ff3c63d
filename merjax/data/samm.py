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

import os
import re

from merjax.data import sheets
from merjax.data.sheets import RowError, cell, text
from merjax.errors import MerjaxError

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


def load(root: str, protocol: str | None = None, **options):
  """SAMM clips (labels = Estimated Emotion, lower case: 'other', 'anger', ...)."""
  report = sheets.report_of(options)
  opts = sheets.take_options(options, OPTIONS)
  kind = opts["frames"]
  if kind not in FRAMES:
    raise MerjaxError(f"data.options.frames: samm frames must be 'raw' or 'cropped', "
                      f"got '{kind}'")
  path = opts["annotation"] or sheets.one_annotation(root, PATTERNS, "SAMM", report=report)
  frames_dir = opts["frames_dir"] or sheets.find_dir(root, FRAMES[kind], child=r"\d{3}")
  if frames_dir is None:
    raise MerjaxError(f"{root}: no SAMM frame folder ({', '.join(FRAMES[kind])}) "
                      f"with 3-digit subject folders")
  rows = sheets.read_sheet(path, SHEET)
  cols = sheets.header_columns(path, rows, HEADER_ROW, COLUMNS)
  clips = sheets.clips_from_rows(
      path, rows, HEADER_ROW, lambda row, where: _clip(row, cols, frames_dir, where, report),
      report)
  return sheets.filter_protocol(clips, protocol)


def _clip(row, cols, frames_dir, where, report):
  subject = subject_folder(cell(row, cols["subject"]))
  name = text(cell(row, cols["filename"]))
  if not name:
    raise RowError("Filename is blank")
  onset = sheets.need_int(cell(row, cols["onset"]), "Onset Frame")
  apex = sheets.need_int(cell(row, cols["apex"]), "Apex Frame")
  offset = sheets.need_int(cell(row, cols["offset"]), "Offset Frame")
  fixed = APEX_FIXES.get((name, apex))
  if fixed is not None and not onset <= apex <= offset:
    report.note(f"{where} ({name})", f"apex {apex} outside onset..offset {onset}..{offset}",
                f"apex set to {fixed} (MEB's correction)")
    apex = fixed
  label = sheets.check_label(text(cell(row, cols["emotion"])), LABELS, "Estimated Emotion")
  return sheets.make_clip(
      dataset=NAME, subject=subject, clip_id=name, label=label,
      folder=os.path.join(frames_dir, subject, name), pattern=FRAME_PATTERN,
      onset=onset, apex=apex, offset=offset,
      aus=sheets.parse_aus(cell(row, cols["aus"])), source=where)
