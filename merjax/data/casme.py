"""CASME (I): its coding sheet + `Cropped/subXX/<Filename>/reg_<Filename>-{N}.jpg`.

Options:
  frames: "cropped" (default, `reg_<Filename>-{N}.jpg`) or "raw"
    (`CASME_raw_selected/subXX/<Filename>/<Filename>-{N}.jpg`).
  annotation: path of the coding sheet (default: the one found under root).
  frames_dir: the folder holding the `subXX` folders (found under root by default).
  row_fixes: "meb" (default): the known-bad rows below get MEB's corrections
    when they are unusable as written; "none": every row as written.
  problems / collect_errors: see `merjax.data.sheets.Report`.

Sheet: first sheet, header on row 1: Subject, Filename, (blank), OnsetF,
ApexF1, ApexF2, OffsetF, (blank), AU, Emotion. ApexF1 is the apex; ApexF2 (a
second apex some clips have) is not read. Integer Subject N -> folder
`subNN`. N in the frame names is zero-padded to 3 digits in part of the sheet
(MEB); the frame number is read from the name either way and mapped to its
position in the clip folder's files sorted by number (the tuple is the whole
folder).
Policies (reported):
  the known-bad Excel rows 42, 44, 45, 56, 142 (onsets / offsets that do not
    match their frame folders): MEB's numbers, when the row as written gives
    no clip (`ROW_FIXES`);
  any other row whose apex alone is unusable (not a number, outside
    onset..offset): apex set to unknown (None).
"""

from __future__ import annotations

import os

from merjax.data import casme2, sheets
from merjax.data.sheets import RowError, cell, text

NAME = "casme"
PATTERNS = ("CASME-coding*.xlsx", "CASME_coding*.xlsx", "casme.xlsx")
COLUMNS = {
    "subject": ("Subject",), "filename": ("Filename",), "onset": ("OnsetF", "OnsetFrame"),
    "apex": ("ApexF1", "ApexF", "ApexFrame"), "offset": ("OffsetF", "OffsetFrame"),
    "aus": ("AU", "AUs", "Action Units"), "emotion": ("Emotion", "Estimated Emotion"),
}
FRAMES = {"cropped": ("Cropped", "CASME_cropped_selected", "CASME_Cropped", "Cropped2"),
          "raw": ("CASME_raw_selected", "CASME_RAW_selected", "CASME_raw")}
FRAME_PATTERN = r"(?:reg_)?.+-(\d+)\.(?:jpg|jpeg|png|bmp)"
# Excel row -> MEB's numbers for it (tvaranka/meb, meb/datasets/datasets.py `Casme`,
# pandas rows 40, 42, 43, 54, 140: "fix mistakes in the files based on the image
# folders"; the apexes are the middle frame).
ROW_FIXES = {
    42: {"onset": 100, "apex": 120, "offset": 149},
    44: {"onset": 101, "apex": 110, "offset": 119},
    45: {"onset": 57, "apex": 65, "offset": 74},
    56: {"offset": 40},
    142: {"offset": 142},
}
ROW_FIX_CHOICES = ("meb", "none")

# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"frames": "cropped", "annotation": None, "frames_dir": None, "row_fixes": "meb"}


def _clip(row, where, copy):
  """The clip of one coding-sheet row (known-bad rows and unusable apexes by policy)."""
  cols = copy.cols
  subject, name = sheets.subject_and_name(row, cols, casme2.subject_folder)
  label = text(cell(row, cols["emotion"])).lower()
  if not label:
    raise RowError("Emotion is blank")
  folder = os.path.join(copy.frames_dir, subject, name)
  aus = sheets.parse_aus(cell(row, cols["aus"]))

  def make(onset, apex, offset):
    return sheets.make_clip(dataset=NAME, subject=subject, clip_id=name, label=label,
                            folder=folder, pattern=FRAME_PATTERN, onset=onset, apex=apex,
                            offset=offset, aus=aus, source=where)

  cells = {k: (COLUMNS[k][0], cell(row, cols[k])) for k in ("onset", "apex", "offset")}
  fix = ROW_FIXES.get(sheets.excel_row(where)) if copy.options["row_fixes"] == "meb" else None
  return sheets.clip_with_fixes(f"{where} ({subject}/{name})", cells, make, copy.report,
                                fix=fix, apex_unknown=True)


SPEC = sheets.SheetDataset(
    name=NAME, what="CASME", options=OPTIONS, patterns=PATTERNS, frames=FRAMES,
    subject_dirs=r"sub\d+", no_frames="no CASME frame folder ({names}) with subXX folders",
    columns=COLUMNS, clip=_clip)


def load(root: str, protocol: str | None = None, **options):
  """CASME (I) clips (labels = Emotion, lower case)."""
  sheets.check_choice(options, "row_fixes", ROW_FIX_CHOICES)
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)
