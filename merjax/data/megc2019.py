"""MEGC2019 composite (SMIC-HS + CASME II + SAMM, 3 classes, 442 clips, 68 subjects).

Membership and classes come from the challenge's official ground-truth list,
shipped as `megc2019_gt.csv` (dataset, subject, clip, class; no header; class
0 negative, 1 positive, 2 surprise), never from filtering coding sheets. It is
the 2018-11-30 `combined_3class_gt-2.csv` without its blank `,,,` lines, plus
`samm,32,032_3_1,0` after `samm,31,031_3_1,0` (the final 442-row list).

Clips keep their own dataset name ("casme2", "samm", "smic"), so subject keys
("samm/006") are unique across the composite; `label` is the class name
(negative / positive / surprise). SAMM subjects are written `006`, SMIC `s01`.

Options: casme2_root, samm_root, smic_root (default: root for all three: each
loader finds its own sheet and frame tree under it), casme2_options,
samm_options, smic_options (dicts passed to the loaders), problems /
collect_errors. Every listed clip must exist in the copies.
"""

from __future__ import annotations

import dataclasses
import os

from merjax.data import casme2, samm, sheets, smic
from merjax.errors import MerjaxError

NAME = "megc2019"
CLASSES = ("negative", "positive", "surprise")
GT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "megc2019_gt.csv")
LOADERS = {"casme2": casme2, "samm": samm, "smic": smic}
OWN_PROTOCOL = {"casme2": "casme2_3class", "samm": "samm_3class", "smic": "smic_3class"}


def ground_truth(path: str = GT_FILE) -> list[tuple[str, str, str, int]]:
  """(dataset, subject as the loaders write it, clip, class) per listed clip."""
  out = []
  with open(path, newline="") as f:
    for i, line in enumerate(f, 1):
      parts = [p.strip() for p in line.strip().split(",")]
      if not any(parts):
        continue
      if len(parts) != 4 or parts[0] not in LOADERS or parts[3] not in ("0", "1", "2"):
        raise MerjaxError(f"{path} row {i}: expected dataset,subject,clip,class 0-2, got '{line.strip()}'")
      out.append((parts[0], subject_key(parts[0], parts[1]), parts[2], int(parts[3])))
  return out


def subject_key(dataset: str, subject: str) -> str:
  """The subject as the dataset's loader writes it (SAMM `6` -> `006`, SMIC `s1` -> `s01`)."""
  if dataset == "samm":
    return f"{int(subject):03d}"
  if dataset == "smic":
    return smic.padded(subject)
  return subject


def all_subjects(path: str = GT_FILE) -> list[str]:
  """The 68 LOSO subject keys "dataset/subject"."""
  return sorted({f"{d}/{s}" for d, s, _, _ in ground_truth(path)})


def load(root: str, protocol: str | None = None, **options):
  """The listed clips, in list order, labelled negative / positive / surprise."""
  gt = ground_truth()
  report, roots, parts = sheets.load_parts(root, options, LOADERS)
  found = {(dataset, clip.subject, clip.clip_id): clip
           for dataset in LOADERS for clip in parts[dataset]}
  clips = []
  for i, (dataset, subject, name, code) in enumerate(gt, 1):
    where = f"megc2019_gt.csv row {i} ({dataset} {subject}/{name})"
    clip = found.get((dataset, subject, name))
    if clip is None:
      report.error(where, f"clip not found in the {dataset} copy under {roots[dataset]}")
      continue
    _check_label(clip, code, where, report)
    clips.append(dataclasses.replace(clip, label=CLASSES[code],
                                     source=f"{clip.source}; {where}"))
  return sheets.filter_protocol(clips, protocol)


def _check_label(clip, code, where, report):
  """Notes a listed class that differs from the coding sheet's 3-class label."""
  from merjax.data.labels import get_protocol
  mapping = get_protocol(OWN_PROTOCOL[clip.dataset]).mapping
  own = mapping.get(clip.label.lower())
  if own != CLASSES[code]:
    report.note(where, f"the sheet/folder says '{clip.label}' ({own or 'not 3-class'}), "
                       f"the official list says {CLASSES[code]}", "official class used")
