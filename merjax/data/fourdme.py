"""4DME (2D frames): `4DME_Labelling_Micro_release v1.xlsx` + `gray_micro/<sub_ID>/<fold_name>/*{N}.jpg`.

Options:
  frames: "gray" (default, folder `gray_micro`), "gray_cropped"
    (`gray_micro_crop`) or "color" (`color_micro`); same tree shape.
  annotation: path of the labelling sheet (default: the one found under root).
  frames_dir: the folder holding the subject folders (found under root by default).
  row_fixes: "meb" (default): MEB's correction of Excel rows 146 and 147 (the
    cells from AUs on belong to the other row: swapped); "none": as written.
  problems / collect_errors: see `merjax.data.sheets.Report`.

Sheet: first sheet, header on row 1; read: sub_ID (the subject folder, as
written), fold_name (the clip folder), Onset, Apex, Offset (frame numbers),
AUs (e.g. `AU4(k)+L7`; `(k)` marks an AU held static, kept as written) and
Emotion (label, lower case). A clip folder holds the clip's frames; the frame
number is the last run of digits in a file name, mapped to its position in the
folder's files sorted by number (the tuple is the whole folder).
Policy: a row whose apex alone is unusable (not a number, outside
onset..offset): apex set to unknown (None); reported.
"""

from __future__ import annotations

import os

from merjax.data import sheets
from merjax.data.sheets import RowError, cell, text

NAME = "fourdme"
PATTERNS = ("4DME_Labelling_Micro*.xlsx", "4DME_Labelling*.xlsx")
COLUMNS = {
    "subject": ("sub_ID",), "filename": ("fold_name",), "onset": ("Onset",),
    "apex": ("Apex",), "offset": ("Offset",), "aus": ("AUs",), "emotion": ("Emotion",),
}
FRAMES = {"gray": ("gray_micro",), "gray_cropped": ("gray_micro_crop",),
          "color": ("color_micro", "colour_micro")}
FRAME_PATTERN = r"(?:.*\D)?(\d+)\.(?:jpg|jpeg|png|bmp)"
# The two Excel rows whose cells from AUs on MEB swaps (tvaranka/meb,
# meb/datasets/datasets.py `Fourd`, pandas rows 144 and 145).
SWAPPED_ROWS = (146, 147)
ROW_FIX_CHOICES = ("meb", "none")

# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"frames": "gray", "annotation": None, "frames_dir": None, "row_fixes": "meb"}


def _swap_rows(rows, copy):
  """The rows with the AUs-onward cells of SWAPPED_ROWS exchanged (row_fixes="meb")."""
  a, b = (r - 1 for r in SWAPPED_ROWS)
  if copy.options["row_fixes"] != "meb" or len(rows) <= b \
      or sheets.is_blank(rows[a]) or sheets.is_blank(rows[b]):
    return rows
  k = copy.cols["aus"]
  rows = list(rows)
  rows[a], rows[b] = rows[a][:k] + rows[b][k:], rows[b][:k] + rows[a][k:]
  name = os.path.basename(copy.path)
  copy.report.note(f"{name} rows {SWAPPED_ROWS[0]} and {SWAPPED_ROWS[1]}",
                   "the cells from AUs on belong to the other row",
                   "swapped (MEB's correction; data.options.row_fixes=none reads them as written)")
  return rows


def _clip(row, where, copy):
  """The clip of one labelling-sheet row (an unusable apex set to unknown)."""
  cols = copy.cols
  subject = text(cell(row, cols["subject"]))
  name = text(cell(row, cols["filename"]))
  if not subject or not name:
    raise RowError("sub_ID or fold_name is blank")
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
  return sheets.clip_with_fixes(f"{where} ({subject}/{name})", cells, make, copy.report,
                                apex_unknown=True)


SPEC = sheets.SheetDataset(
    name=NAME, what="4DME", options=OPTIONS, patterns=PATTERNS, frames=FRAMES,
    no_frames="no 4DME frame folder ({names})", columns=COLUMNS, clip=_clip,
    edit_rows=_swap_rows)


def load(root: str, protocol: str | None = None, **options):
  """4DME micro-expression clips (labels = Emotion, lower case)."""
  sheets.check_choice(options, "row_fixes", ROW_FIX_CHOICES)
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)
