"""CAS(ME)^2: `CAS(ME)^2code_final*.xlsx` + `rawpic/sXX/XX_<code><name>/img{N}.jpg`.

Sheet 1 (first sheet, whatever its name) has no header; columns: participant
number, `<video>_<n>` (e.g. `disgust1_1`), onset, apex, offset, AUs,
estimated emotion (positive / negative / surprise / others), expression type,
self-report. Only `micro-expression` rows are returned (4 classes).
Sheet `naming rule1` (no header): rows holding the folder's number, the folder
(`s15`) and the participant number (read: the `sXX` cell and the last integer
cell); sheet `naming rule2` (no header): rows holding a 4-digit code (`0101`,
maybe written as the number 101) and its video name (`disgust1`). The frame folder of a row is the one in `rawpic/<sXX>/` (or
`cropped/<sXX>/`) whose name starts with `<XX>_<code>`.
Folders hold whole videos, so `frames` is the onset..offset window (files
img{N}.jpg, N 1-based, mapped through the sorted file list).
Policies (reported): offset 0 means "unknown": the offset is set to the apex;
apex 0 means "unknown": the apex is set to None (consumers use the middle).

Options: annotation, frames ("raw" = rawpic, default, or "cropped"),
problems / collect_errors.
"""

from __future__ import annotations

import os
import re

from merjax.data import sheets
from merjax.data.sheets import RowError, cell, text
from merjax.errors import MerjaxError

NAME = "casme_sq"
PATTERNS = ("CAS(ME)^2code_final*.xlsx",)
LABELS = ("positive", "negative", "surprise", "others")
FRAMES = {"raw": ("rawpic",), "cropped": ("cropped",)}
FRAME_PATTERN = r"img(\d+)\.(?:jpg|jpeg|png|bmp)"


# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"annotation": None, "frames": "raw"}


def _naming_rules(path, frames_dir):
  """({participant number: subject folder}, {video name: 4-digit code}) of the
  naming-rule sheets."""
  names = sheets.sheet_names(path)
  return (_rule(path, "naming rule1", names, _subject_pair),
          _rule(path, "naming rule2", names, _code_pair))


def _rule(path, sheet, names, pair):
  if sheet not in names:
    raise MerjaxError(f"{path}: no sheet '{sheet}' (sheets: {', '.join(names)})")
  out = {}
  for row in sheets.read_sheet(path, sheet):
    found = pair(row)
    if found:
      out[found[0]] = found[1]
  if not out:
    raise MerjaxError(f"{path}: sheet '{sheet}' holds no usable rows")
  return out


def _subject_pair(row):
  """(participant number, folder) of a `naming rule1` row: the folder is its `sXX`
  cell, the participant its last integer cell (real rows read (15, s15, 1): the
  folder's number, the folder, the participant)."""
  folder = next((text(c) for c in row if re.fullmatch(r"s\d+", text(c), re.I)), None)
  numbers = [text(c) for c in row if re.fullmatch(r"\d+", text(c))]
  return (int(numbers[-1]), folder.lower()) if folder and numbers else None


def _code_pair(row):
  code = next((text(c) for c in row if re.fullmatch(r"\d{3,4}", text(c))), None)
  name = next((text(c) for c in row if re.fullmatch(r"[A-Za-z]\w*", text(c))), None)
  return (name.lower(), f"{int(code):04d}") if code and name else None


def _clip(row, where, copy):
  """The clip of one micro-expression row of sheet 1 (None for any other row)."""
  if "micro" not in text(cell(row, 7)).lower():
    return None
  subjects, codes = copy.prepared
  number = sheets.need_int(cell(row, 0), "participant number")
  if number not in subjects:
    raise RowError(f"participant {number} not in sheet 'naming rule1'")
  subject = subjects[number]
  name = text(cell(row, 1))
  video = name.rsplit("_", 1)[0].lower()
  if video not in codes:
    raise RowError(f"video '{video}' not in sheet 'naming rule2'")
  onset = sheets.need_int(cell(row, 2), "onset")
  apex = sheets.need_int(cell(row, 3), "apex")
  offset = sheets.need_int(cell(row, 4), "offset")
  if offset == 0:
    copy.report.note(f"{where} ({subject}/{name})", "offset 0 (unknown)",
                     f"offset set to the apex {apex}")
    offset = apex
  if apex == 0:
    copy.report.note(f"{where} ({subject}/{name})", "apex 0 (unknown)",
                     "apex set to unknown (middle of onset..offset used)")
    apex = None
  label = sheets.check_label(text(cell(row, 6)), LABELS, "estimated emotion")
  prefix = f"{subject[1:]}_{codes[video]}"
  subject_dir = os.path.join(copy.frames_dir, subject)
  folders = sorted(d for d in os.listdir(subject_dir) if d.startswith(prefix)) \
      if os.path.isdir(subject_dir) else []
  if len(folders) != 1:
    raise RowError(f"{len(folders)} video folders {prefix}* in {subject_dir} (need exactly 1)")
  return sheets.make_clip(
      dataset=NAME, subject=subject, clip_id=name, label=label,
      folder=os.path.join(subject_dir, folders[0]), pattern=FRAME_PATTERN,
      onset=onset, apex=apex, offset=offset, aus=sheets.parse_aus(cell(row, 5)),
      whole=False, source=where)


SPEC = sheets.SheetDataset(
    name=NAME, what="CAS(ME)^2", options=OPTIONS, patterns=PATTERNS, frames=FRAMES,
    subject_dirs=r"s\d+", no_frames="no CAS(ME)^2 frame folder ({kind}) with sXX subject folders",
    header_row=0, prepare=_naming_rules, clip=_clip)


def load(root: str, protocol: str | None = None, **options):
  """CAS(ME)^2 micro-expression clips (labels positive/negative/surprise/others)."""
  return sheets.load_sheet_dataset(SPEC, root, protocol, **options)
