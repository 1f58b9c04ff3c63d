"""CAS(ME)^3 Part A: `cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx` + `spNO.X/<letter>/color/<N>.jpg`.

Sheet `label` when present, else the first; header row 1: Subject (`spNO.1`),
Filename (a letter: one recording), Onset, Apex, Offset, AU, Objective class,
emotion (happy, disgust, surprise, fear, anger, sad, others).
A recording folder holds a whole video, so `frames` is the onset..offset
window of `color/<N>.jpg` (N mapped through the sorted file list).
Policies (reported):
  duplicate (Subject, Filename): one recording holds several MEs; the 2nd,
    3rd ... get clip ids `b2`, `b3` in sheet order (as MEB does);
  apex outside onset..offset (typos, apex 0): apex set to unknown (None);
  onset after offset (typos): the row is dropped;
  the known-bad Excel rows of `ROW_FIXES` (MEB's corrections): MEB's numbers
    when the row as written gives no clip (before the two policies above).

Options: annotation, problems / collect_errors.

Part C (`load_part_c`, dataset `casme3c`): `CAS(ME)3_part_C_ME.xlsx` (first
sheet, header row 1: sub, count, au (comma-separated), onset, offset, emotion;
no apex: apex None) + `ME_C/<sub, 2 digits>/<count>/color/<N>.jpg`, one folder
per ME (the tuple is the whole folder). The layout is MEB's (`Casme3C`); no
release file was seen.
"""

from __future__ import annotations

import collections
import os

from merjax.data import sheets
from merjax.data.sheets import RowError, cell, text

NAME = "casme3"
PATTERNS = ("cas(me)3_part_A_ME_label_JpgIndex_v2*.xlsx", "cas(me)3_part_A_ME_label*.xlsx")
LABELS = ("happy", "disgust", "surprise", "fear", "anger", "sad", "others")
COLUMNS = {"subject": ("Subject",), "filename": ("Filename",), "onset": ("Onset",),
           "apex": ("Apex",), "offset": ("Offset",), "aus": ("AU",), "emotion": ("emotion",)}
FRAME_PATTERN = r"(\d+)\.(?:jpg|jpeg|png)"
# Excel row -> MEB's numbers for it (tvaranka/meb, meb/datasets/datasets.py `Casme3`,
# pandas rows 128, 749, 750, 708, 796, 798; Excel row = pandas row + 2).
ROW_FIXES = {130: {"apex": 160}, 751: {"onset": 2647}, 752: {"onset": 1, "apex": 1},
             710: {"offset": 34}, 798: {"offset": 1845}, 800: {"offset": 2403}}


# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"annotation": None}


def _recordings(path, frames_dir):
  """A count of the rows read so far per (Subject, Filename) recording."""
  return collections.Counter()


def _clip(row, where, copy):
  """The clip of one label-sheet row (None for a row the policies drop)."""
  cols, report, seen = copy.cols, copy.report, copy.prepared
  subject = text(cell(row, cols["subject"]))
  letter = text(cell(row, cols["filename"]))
  if not subject or not letter:
    raise RowError("Subject or Filename is blank")
  seen[(subject, letter)] += 1
  clip_id = letter if seen[(subject, letter)] == 1 else f"{letter}{seen[(subject, letter)]}"
  here = f"{where} ({subject}/{clip_id})"
  if clip_id != letter:
    report.note(here, f"another ME of recording {subject}/{letter}", f"clip id {clip_id}")
  label = sheets.check_label(text(cell(row, cols["emotion"])), LABELS, "emotion")
  folder = os.path.join(copy.frames_dir, subject, letter, "color")
  aus = sheets.parse_aus(cell(row, cols["aus"]))

  def make(onset, apex, offset):
    return sheets.make_clip(dataset=NAME, subject=subject, clip_id=clip_id, label=label,
                            folder=folder, pattern=FRAME_PATTERN, onset=onset, apex=apex,
                            offset=offset, aus=aus, whole=False, source=where)

  fix = ROW_FIXES.get(sheets.excel_row(where))
  if fix:
    cells = {k: (COLUMNS[k][0], cell(row, cols[k])) for k in ("onset", "apex", "offset")}
    return sheets.clip_with_fixes(here, cells, make, report, fix=fix)
  onset = sheets.need_int(cell(row, cols["onset"]), "Onset")
  offset = sheets.need_int(cell(row, cols["offset"]), "Offset")
  try:
    apex = sheets.as_int(cell(row, cols["apex"]))
  except ValueError:
    apex = None
  if onset > offset:
    report.note(here, f"onset {onset} after offset {offset}", "row dropped")
    return None
  if apex is None or not onset <= apex <= offset:
    report.note(here, f"apex {text(cell(row, cols['apex']))} outside onset..offset {onset}..{offset}",
                "apex set to unknown (middle of onset..offset used)")
    apex = None
  return make(onset, apex, offset)


SPEC = sheets.SheetDataset(
    name=NAME, what="CAS(ME)^3 Part A ME", options=OPTIONS, patterns=PATTERNS,
    frames={None: ("part_A", "ME_A")}, subject_dirs=r"spNO\.\d+", depth=4,
    no_frames="no CAS(ME)^3 frame folder with spNO.X subject folders",
    sheet="label", sheet_required=False, columns=COLUMNS, prepare=_recordings, clip=_clip)


def load(root: str, protocol: str | None = None, **options):
  """CAS(ME)^3 Part A micro-expression clips."""
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)


# ------------------------------------------------------------------ Part C

NAME_C = "casme3c"
PATTERNS_C = ("CAS(ME)3_part_C_ME*.xlsx",)
COLUMNS_C = {"subject": ("sub",), "filename": ("count",), "onset": ("onset",),
             "offset": ("offset",), "aus": ("au",), "emotion": ("emotion",)}


def _clip_c(row, where, copy):
  """The clip of one Part C row (no apex annotated: apex None)."""
  cols = copy.cols
  subject = text(cell(row, cols["subject"]))
  count = text(cell(row, cols["filename"]))
  if not subject or not count:
    raise RowError("sub or count is blank")
  subject = subject.zfill(2)
  label = text(cell(row, cols["emotion"])).lower()
  if not label:
    raise RowError("emotion is blank")
  return sheets.make_clip(
      dataset=NAME_C, subject=subject, clip_id=count, label=label,
      folder=os.path.join(copy.frames_dir, subject, count, "color"), pattern=FRAME_PATTERN,
      onset=sheets.need_int(cell(row, cols["onset"]), "onset"), apex=None,
      offset=sheets.need_int(cell(row, cols["offset"]), "offset"),
      aus=sheets.parse_aus(cell(row, cols["aus"])), source=where)


SPEC_C = sheets.SheetDataset(
    name=NAME_C, what="CAS(ME)^3 Part C ME", options=OPTIONS, patterns=PATTERNS_C,
    frames={None: ("ME_C", "part_C")}, subject_dirs=r"\d+", depth=4,
    no_frames="no CAS(ME)^3 Part C frame folder (ME_C) with numbered subject folders",
    columns=COLUMNS_C, clip=_clip_c)


def load_part_c(root: str, protocol: str | None = None, **options):
  """CAS(ME)^3 Part C micro-expression clips (labels = emotion, lower case)."""
  return sheets.load_sheet_dataset(SPEC_C, root, protocol, **options)
