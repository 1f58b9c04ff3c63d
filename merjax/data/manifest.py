"""Precomputed per-sample images listed in a CSV manifest (`--dataset manifest`).

Columns: subject,clip,label,path (optional dataset). Paths are relative to the
CSV's folder; labels are class names. Each row becomes a one-frame Clip whose
`image` modality is the file itself (optical-flow PNGs, apex crops, ...).
"""

from __future__ import annotations

import csv
import os

from merjax.data.records import Clip
from merjax.errors import MerjaxError

REQUIRED = ("subject", "clip", "label", "path")


def load(path: str) -> list[Clip]:
  """Reads the manifest at `path`; every listed file must exist."""
  if not os.path.isfile(path):
    raise MerjaxError(f"{path}: manifest not found")
  base = os.path.dirname(os.path.abspath(path))
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
      raise MerjaxError(f"{path}: missing column(s) {', '.join(missing)} "
                        f"(need {','.join(REQUIRED)}[,dataset])")
    clips = []
    for line, row in enumerate(reader, start=2):
      row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
      empty = [c for c in REQUIRED if not row.get(c)]
      if empty:
        raise MerjaxError(f"{path} row {line}: empty {', '.join(empty)}")
      image = os.path.join(base, row["path"])
      if not os.path.isfile(image):
        raise MerjaxError(f"{path} row {line}: file {row['path']} not found")
      clips.append(Clip(dataset=row.get("dataset") or "manifest", subject=row["subject"],
                        clip_id=row["clip"], label=row["label"], frames=(image,),
                        onset=0, apex=0, offset=0, source=f"{path} row {line}"))
  if not clips:
    raise MerjaxError(f"{path}: no rows")
  return clips
