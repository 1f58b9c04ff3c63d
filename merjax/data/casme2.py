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

import re

from merjax.data import sheets
from merjax.data.sheets import RowError, cell, text

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
FRAMES = {"cropped": ("Cropped", "CASME2_Cropped", "CASME2-Cropped"),
          "raw": ("CASME2_RAW_selected", "CASME2-RAW-selected", "CASME2_RAW")}
FRAME_PATTERNS = {"cropped": r"reg_img(\d+)\.jpg", "raw": r"img(\d+)\.jpg"}


def subject_folder(value) -> str:
  """`subNN` from an integer subject (5, 5.0, "5") or an existing "sub05"."""
  t = text(value)
  m = re.fullmatch(r"(?:sub)?0*(\d+)", t, re.IGNORECASE)
  if not m:
    raise RowError(f"Subject '{t}' is not a subject number")
  return f"sub{int(m.group(1)):02d}"


# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"frames": "cropped", "annotation": None, "frames_dir": None}


def _clip(row, where, copy):
  """The clip of one coding-sheet row (apex None where the sheet has no number)."""
  cols = copy.cols
  subject, name = sheets.subject_and_name(row, cols, subject_folder)
  onset = sheets.need_int(cell(row, cols["onset"]), "OnsetFrame")
  offset = sheets.need_int(cell(row, cols["offset"]), "OffsetFrame")
  raw_apex = cell(row, cols["apex"])
  try:
    apex = sheets.as_int(raw_apex)
  except ValueError:
    apex = None
  if apex is None:
    copy.report.note(f"{where} ({subject}/{name})",
                     f"ApexFrame '{text(raw_apex)}' is not a frame number",
                     "apex set to unknown (middle of onset..offset used)")
  return sheets.coded_clip(row, where, copy, dataset=NAME, labels=LABELS,
                           pattern=FRAME_PATTERNS[copy.kind], subject=subject, name=name,
                           onset=onset, apex=apex, offset=offset)


SPEC = sheets.SheetDataset(
    name=NAME, what="CASME II", options=OPTIONS, patterns=PATTERNS, prefer=PREFER,
    frames=FRAMES, subject_dirs=r"sub\d+", no_frames="no CASME II frame folder ({names})",
    columns=COLUMNS, clip=_clip)


def load(root: str, protocol: str | None = None, **options):
  """CASME II clips (labels = Estimated Emotion, lower case)."""
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)
