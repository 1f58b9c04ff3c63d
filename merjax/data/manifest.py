"""Precomputed per-sample images listed in a CSV manifest (`--dataset manifest`).

Columns: subject,clip,label,path (optional dataset). Paths are relative to the
CSV's folder; labels are class names. Each row becomes a one-frame Clip whose
`image` modality is the file itself (optical-flow PNGs, apex crops, ...): a
motion modality (flow, differences, dynamic images) cannot be computed from
one frame, so use `data.modality=image` (the modality stage says so).

Refused, naming the rows: an empty required cell, a missing file, a repeated
dataset/subject/clip, and labels that differ only in case (`Happiness` beside
`happiness`: one class or two?).

`load(root)` with root = the manifest CSV path (the registry contract
`load(root, **options)`; the manifest has no options besides problems /
collect_errors, see `merjax.data.sheets.Report`).
"""

from __future__ import annotations

import csv
import os

from merjax.data import sheets
from merjax.data.records import Clip
from merjax.errors import MerjaxError

REQUIRED = ("subject", "clip", "label", "path")
OPTIONS: dict = {}


def load(root: str, protocol: str | None = None, **options) -> list[Clip]:
  """Reads the manifest CSV at `root`; every listed file must exist."""
  report = sheets.report_of(options)
  sheets.take_options(options, OPTIONS)
  path = root
  if not path or not os.path.isfile(path):
    raise MerjaxError(f"{path}: manifest not found")
  base = os.path.dirname(os.path.abspath(path))
  clips, seen, spelling, n_rows = [], {}, {}, 0
  with open(path, newline="", encoding="utf-8-sig") as f:
    reader = csv.DictReader(f)
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
      raise MerjaxError(f"{path}: missing column(s) {', '.join(missing)} "
                        f"(need {','.join(REQUIRED)}[,dataset])")
    for line, row in enumerate(reader, start=2):
      row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
      if not any(row.values()):
        continue
      n_rows += 1
      where = f"{path} row {line}"
      empty = [c for c in REQUIRED if not row.get(c)]
      if empty:
        report.error(where, f"empty {', '.join(empty)}")
        continue
      image = os.path.join(base, row["path"])
      if not os.path.isfile(image):
        report.error(where, f"file {row['path']} not found")
        continue
      clip = Clip(dataset=row.get("dataset") or "manifest", subject=row["subject"],
                  clip_id=row["clip"], label=row["label"], frames=(image,),
                  onset=0, apex=0, offset=0, source=where)
      if clip.key in seen:
        report.error(where, f"duplicate clip {clip.key} (also row {seen[clip.key]})")
        continue
      first = spelling.setdefault(clip.label.lower(), (clip.label, line))
      if first[0] != clip.label:
        report.error(where, f"label '{clip.label}' differs only in case from '{first[0]}' "
                            f"(row {first[1]}); write every class one way")
        continue
      seen[clip.key] = line
      clips.append(clip)
  if not clips:
    report.error(path, "no rows" if not n_rows else f"none of its {n_rows} rows is usable")
  return sheets.filter_protocol(clips, protocol)
