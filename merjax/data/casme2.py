"""CASME II: `CASME2-coding-*.xlsx` + `Cropped/subXX/<Filename>/reg_img{N}.jpg`.

Options:
  frames: "cropped" (default, `reg_img{N}.jpg`) or "raw"
    (`CASME2_RAW_selected/subXX/<Filename>/img{N}.jpg`).
  annotation: path of the coding sheet; by default the one `CASME2-coding-*.xlsx`
    under root (the 20140508 sheet when several are present).
  frames_dir: the folder holding the `subXX` folders (found under root by default).
  problems / collect_errors: see `merjax.data.sheets.Report`.

Sheet: `Sheet1` (first sheet), header on row 1, blank columns 3 and 7 ignored,
integer Subject N -> folder `subNN`. Frame numbers map to positions in the
clip folder's files sorted by N (the tuple is the whole folder).
Policy: an ApexFrame that is not a number ("/" for sub04 EP12_01f) -> apex None
(consumers use the middle of onset..offset); reported.
"""

from __future__ import annotations

import os
import re

from merjax.data import sheets
from merjax.data.sheets import RowError, cell, text
from merjax.errors import MerjaxError

NAME = "casme2"
PATTERNS = ("CASME2-coding-*.xlsx",)
PREFER = ("CASME2-coding-20140508.xlsx",)
LABELS = ("happiness", "disgust", "repression", "surprise", "others", "sadness", "fear")
COLUMNS = {
    "subject": ("Subject",), "filename": ("Filename",),
    "onset": ("OnsetFrame", "Onset Frame"), "apex": ("ApexFrame", "Apex Frame"),
    "offset": ("OffsetFrame", "Offset Frame"), "aus": ("Action Units",),
    "emotion": ("Estimated Emotion",),
}
FRAMES = {
    "cropped": (("Cropped", "CASME2_Cropped", "CASME2-Cropped"), r"reg_img(\d+)\.jpg"),
    "raw": (("CASME2_RAW_selected", "CASME2-RAW-selected", "CASME2_RAW"), r"img(\d+)\.jpg"),
}


def subject_folder(value) -> str:
  """`subNN` from an integer subject (5, 5.0, "5") or an existing "sub05"."""
  t = text(value)
  m = re.fullmatch(r"(?:sub)?0*(\d+)", t, re.IGNORECASE)
  if not m:
    raise RowError(f"Subject '{t}' is not a subject number")
  return f"sub{int(m.group(1)):02d}"


# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"frames": "cropped", "annotation": None, "frames_dir": None}


def load(root: str, protocol: str | None = None, **options):
  """CASME II clips (labels = Estimated Emotion, lower case)."""
  report = sheets.report_of(options)
  opts = sheets.take_options(options, OPTIONS)
  kind = opts["frames"]
  if kind not in FRAMES:
    raise MerjaxError(f"data.options.frames: casme2 frames must be 'cropped' or 'raw', "
                      f"got '{kind}'")
  names, pattern = FRAMES[kind]
  path = opts["annotation"] or sheets.one_annotation(root, PATTERNS, "CASME II", PREFER, report)
  frames_dir = opts["frames_dir"] or sheets.find_dir(root, names, child=r"sub\d+")
  if frames_dir is None:
    raise MerjaxError(f"{root}: no CASME II frame folder ({', '.join(names)})")
  rows = sheets.read_sheet(path)
  cols = sheets.header_columns(path, rows, 1, COLUMNS)
  clips = sheets.clips_from_rows(
      path, rows, 1, lambda row, where: _clip(row, cols, frames_dir, pattern, where, report),
      report)
  return sheets.filter_protocol(clips, protocol)


def _clip(row, cols, frames_dir, pattern, where, report):
  subject = subject_folder(cell(row, cols["subject"]))
  name = text(cell(row, cols["filename"]))
  if not name:
    raise RowError("Filename is blank")
  onset = sheets.need_int(cell(row, cols["onset"]), "OnsetFrame")
  offset = sheets.need_int(cell(row, cols["offset"]), "OffsetFrame")
  raw_apex = cell(row, cols["apex"])
  try:
    apex = sheets.as_int(raw_apex)
  except ValueError:
    apex = None
  if apex is None:
    report.note(f"{where} ({subject}/{name})", f"ApexFrame '{text(raw_apex)}' is not a frame number",
                "apex set to unknown (middle of onset..offset used)")
  label = sheets.check_label(text(cell(row, cols["emotion"])), LABELS, "Estimated Emotion")
  return sheets.make_clip(
      dataset=NAME, subject=subject, clip_id=name, label=label,
      folder=os.path.join(frames_dir, subject, name), pattern=pattern,
      onset=onset, apex=apex, offset=offset,
      aus=sheets.parse_aus(cell(row, cols["aus"])), source=where)
