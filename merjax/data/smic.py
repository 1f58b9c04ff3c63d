"""SMIC-HS: the cropped/raw folder release, or the extended release with its sheet.

Cropped release (no sheet): `HS/s1/micro/{negative,positive,surprise}/s1_ne_01/
reg_image{6-digit}.bmp` (raw twin: `image{6-digit}.bmp`). The label is the
emotion folder; there is no apex (apex None); onset/offset are the first and
last frame of the folder; `non_micro/` is excluded.

Extended release: `SMIC-HS-E_annotation*.xlsx` (first sheet, header row 1:
Subject (an integer, 1), Filename (`s1_ne_01`), OnsetF, OffsetF, Emotion,
optional ApexF (the `_2019` sheet)) and clip folders named like the Filename
anywhere under root (`SMIC-HS-E/s01/s1_ne_01/image{6 digits}.jpg`; .bmp also
read). Frame numbers map to positions in the folder's files sorted by number.
Policy: the rows of KNOWN_MISSING, whose clip folders the release lacks, are
dropped when their folder is missing (reported); any other missing folder is
an error.

Naming: the cropped tree writes `s1` / `s1_ne_01`, the extended release and the
MEGC2019 list `s01` / `s01_ne_01`. Subjects and clip ids are always returned
zero-padded (`s01`, `s01_ne_01`); `source` keeps the folder as written.

Options: release ("auto": extended when its sheet is under root, else
cropped), annotation, problems / collect_errors.
"""

from __future__ import annotations

import os
import re

from merjax.data import sheets
from merjax.data.records import Clip
from merjax.data.sheets import RowError, cell, text
from merjax.errors import MerjaxError

NAME = "smic"
LABELS = ("negative", "positive", "surprise")
FRAME_PATTERN = r"(?:reg_)?image(\d+)\.(?:bmp|jpg|jpeg|png)"
PATTERNS = ("SMIC-HS-E_annotation*.xlsx",)
COLUMNS = {"subject": ("Subject",), "filename": ("Filename",), "onset": ("OnsetF",),
           "offset": ("OffsetF",), "emotion": ("Emotion",)}
SHORT = {"ne": "negative", "po": "positive", "sur": "surprise"}
# Extended-release rows whose clip folders the downloaded release lacks (a public
# MEGC2019 solution's README lists them); padded names.
KNOWN_MISSING = ("s03_ne_03", "s03_ne_20", "s04_ne_05", "s04_ne_06", "s09_sur_02")


def padded(subject) -> str:
  """`s01` from `s1`, `s01`, 1 or "1"."""
  m = re.fullmatch(r"s?0*(\d+)", text(subject), re.IGNORECASE)
  if not m:
    raise RowError(f"subject '{subject}' is not like s1 / s01")
  return f"s{int(m.group(1)):02d}"


def padded_clip(name: str) -> str:
  """`s01_ne_01` from `s1_ne_01` (other names unchanged)."""
  m = re.fullmatch(r"s0*(\d+)(_.*)", name, re.IGNORECASE)
  return f"s{int(m.group(1)):02d}{m.group(2)}" if m else name


# Options and their defaults (besides protocol and sheets.COMMON_OPTIONS).
OPTIONS = {"release": "auto", "annotation": None}


def load(root: str, protocol: str | None = None, **options):
  """SMIC-HS clips (labels negative / positive / surprise)."""
  report = sheets.report_of(options)
  opts = sheets.take_options(options, OPTIONS)
  release, annotation = opts["release"], opts["annotation"]
  if release == "auto":
    release = "extended" if annotation or sheets.find_files(root, PATTERNS) else "cropped"
  if release == "cropped":
    clips = _cropped(root, report)
    sheets.check_unique(clips, report, root)
  elif release == "extended":
    clips = _extended(root, annotation, report)
  else:
    raise MerjaxError(f"data.options.release: smic release must be auto, cropped or extended, "
                      f"got '{release}'")
  return sheets.filter_protocol(clips, protocol)


def all_subjects(clips) -> list[str]:
  return sorted({c.subject for c in clips})


def _cropped(root, report):
  hs = sheets.find_dir(root, ("HS",), child=r"s\d+")
  if hs is None:
    raise MerjaxError(f"{root}: no SMIC HS folder with s1, s2, ... subject folders")
  clips = []
  for subject in sorted(os.listdir(hs)):
    micro = os.path.join(hs, subject, "micro")
    if not re.fullmatch(r"s\d+", subject, re.IGNORECASE) or not os.path.isdir(micro):
      continue
    for emotion in sorted(os.listdir(micro)):
      folder = os.path.join(micro, emotion)
      if not os.path.isdir(folder):
        continue
      if emotion.lower() not in LABELS:
        report.error(folder, f"unknown emotion folder '{emotion}' (known: {', '.join(LABELS)})")
        continue
      for name in sorted(os.listdir(folder)):
        clip_dir = os.path.join(folder, name)
        if os.path.isdir(clip_dir):
          try:
            clips.append(_folder_clip(subject, name, emotion.lower(), clip_dir))
          except RowError as e:
            report.error(clip_dir, str(e))
  if not clips:
    report.error(hs, "no clip folders in <subject>/micro/<emotion>/")
  return clips


def _folder_clip(subject, name, label, clip_dir):
  frames = sheets.list_frames(clip_dir, FRAME_PATTERN)
  if not frames:
    raise RowError("no frame files (reg_image*.bmp / image*.bmp)")
  return Clip(dataset=NAME, subject=padded(subject), clip_id=padded_clip(name), label=label,
              frames=tuple(p for _, p in frames), onset=0, apex=None,
              offset=len(frames) - 1, source=clip_dir)


def _extended(root, annotation, report):
  path = annotation or sheets.one_annotation(root, PATTERNS, "SMIC-HS-E", report=report)
  rows = sheets.read_sheet(path)
  cols = sheets.header_columns(path, rows, 1, COLUMNS)
  apex_col = sheets.header_columns(path, rows, 1, {"apex": ("ApexF",)})["apex"] \
      if any(sheets._norm(c) == "apexf" for c in rows[0]) else None
  folders = _clip_folders(root)

  def make(row, where):
    subject = padded(cell(row, cols["subject"]))
    name = padded_clip(text(cell(row, cols["filename"])))
    apex = None if apex_col is None else sheets.need_int(cell(row, apex_col), "ApexF")
    label = sheets.check_label(text(cell(row, cols["emotion"])), LABELS, "Emotion")
    folder = folders.get(name.lower())
    if folder is None and name.lower() in KNOWN_MISSING:
      report.note(f"{where} ({name})", "clip folder missing (known absent from the release)",
                  "row dropped")
      return None
    if folder is None:
      raise RowError(f"no clip folder named {name} under {root}")
    return sheets.make_clip(
        dataset=NAME, subject=subject, clip_id=name, label=label, folder=folder,
        pattern=FRAME_PATTERN, onset=sheets.need_int(cell(row, cols["onset"]), "OnsetF"),
        apex=apex, offset=sheets.need_int(cell(row, cols["offset"]), "OffsetF"),
        source=where)
  return sheets.clips_from_rows(path, rows, 1, make, report)


def _clip_folders(root):
  """Padded clip name (lower case) -> folder, for folders like s01_ne_01."""
  out = {}
  for path, dirs, _ in sheets._walk(root, 6):
    for d in dirs:
      if re.fullmatch(r"s\d+_\w+_\d+", d, re.IGNORECASE):
        out.setdefault(padded_clip(d).lower(), os.path.join(path, d))
  return out
