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
  onset after offset (typos): the row is dropped.

Options: annotation, problems / collect_errors.
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
  label = sheets.check_label(text(cell(row, cols["emotion"])), LABELS, "emotion")
  return sheets.make_clip(
      dataset=NAME, subject=subject, clip_id=clip_id, label=label,
      folder=os.path.join(copy.frames_dir, subject, letter, "color"), pattern=FRAME_PATTERN,
      onset=onset, apex=apex, offset=offset, aus=sheets.parse_aus(cell(row, cols["aus"])),
      whole=False, source=where)


SPEC = sheets.SheetDataset(
    name=NAME, what="CAS(ME)^3 Part A ME", options=OPTIONS, patterns=PATTERNS,
    frames={None: ("part_A",)}, subject_dirs=r"spNO\.\d+", depth=4,
    no_frames="no CAS(ME)^3 frame folder with spNO.X subject folders",
    sheet="label", sheet_required=False, columns=COLUMNS, prepare=_recordings, clip=_clip)


def load(root: str, protocol: str | None = None, **options):
  """CAS(ME)^3 Part A micro-expression clips."""
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)
