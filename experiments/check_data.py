"""Validates a dataset copy without training.

  python -m experiments.check_data --dataset NAME --root DIR [--protocol NAME] [--json] [--no-read]

Finds the annotation file, checks every clip's frames (existence, and with
reading on, that each file decodes), applies the label protocol, and prints
samples per class and per subject, the subjects LOSO will skip, and every
problem found (where, what, what was done). Exit status 0 when the copy is
usable (no error, at least one sample, two subjects), 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys

from merjax.data import registry
from merjax.data.labels import DEFAULT_PROTOCOL, get_protocol
from merjax.data.sheets import FATAL
from merjax.errors import MerjaxError


def check(dataset: str, root: str, protocol: str | None = None, read: bool = True,
          **options) -> tuple[dict, bool]:
  """(summary dict as --json prints it, usable?)."""
  protocol = protocol or DEFAULT_PROTOCOL.get(dataset)
  problems: list[dict] = []
  result = {"dataset": dataset, "protocol": protocol, "samples": 0, "subjects": 0,
            "classes": {}, "skipped_subjects": [], "problems": problems}
  try:
    clips = _load(dataset, root, problems, options)
    if read:
      _check_frames(clips, problems)
    if protocol is None:
      raise MerjaxError(f"no default label protocol for '{dataset}': pass --protocol")
    proto = get_protocol(protocol, clips)
    kept, y, dropped = proto.apply(clips)
  except MerjaxError as e:
    problems.append({"where": f"{dataset} copy", "what": str(e), "action": FATAL})
    return result, False
  per_subject = collections.Counter(f"{c.dataset}/{c.subject}" for c in kept)
  everyone = {f"{c.dataset}/{c.subject}" for c in clips}
  result.update(
      samples=len(kept), subjects=len(per_subject),
      classes={name: int((y == i).sum()) for i, name in enumerate(proto.classes)},
      skipped_subjects=sorted(everyone - set(per_subject)),
      per_subject=dict(sorted(per_subject.items())), dropped_labels=dropped)
  fatal = any(p["action"] == FATAL for p in problems)
  return result, not fatal and len(kept) > 0 and len(per_subject) >= 2


def _load(dataset, root, problems, options):
  load = registry.loader(dataset)
  if dataset in DEFAULT_PROTOCOL:
    return load(root, problems=problems, collect_errors=True, **options)
  return load(root=root, **options)


def _check_frames(clips, problems):
  """Decodes every frame file; one problem per clip with unreadable frames."""
  import cv2
  for clip in clips:
    if not isinstance(clip.frames, tuple):
      continue
    bad = [p for p in clip.frames if cv2.imread(p, cv2.IMREAD_UNCHANGED) is None]
    if bad:
      problems.append({"where": f"{clip.key} ({clip.source})",
                       "what": f"{len(bad)} of {clip.num_frames} frame files unreadable, "
                               f"first {bad[0]}", "action": FATAL})


def _print(result, usable):
  w = lambda s="": print(s)
  w(f"dataset {result['dataset']}  protocol {result['protocol']}")
  w(f"samples {result['samples']}  subjects {result['subjects']}")
  for name, n in result["classes"].items():
    w(f"  class {name:<12} {n}")
  for name, n in result.get("dropped_labels", {}).items():
    w(f"  dropped label {name:<12} {n}")
  if result.get("per_subject"):
    w("per subject: " + ", ".join(f"{s} {n}" for s, n in result["per_subject"].items()))
  w("LOSO skips (no samples left): " + (", ".join(result["skipped_subjects"]) or "none"))
  w(f"problems: {len(result['problems'])}")
  for p in result["problems"]:
    w(f"  {p['where']}: {p['what']} -> {p['action']}")
  w("usable" if usable else "NOT usable")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--dataset", required=True, help=", ".join(sorted(registry.DATASETS)))
  parser.add_argument("--root", required=True)
  parser.add_argument("--protocol", default=None)
  parser.add_argument("--json", action="store_true")
  parser.add_argument("--no-read", action="store_true", help="check frame files exist, don't decode")
  args = parser.parse_args(argv)
  result, usable = check(args.dataset, args.root, args.protocol, read=not args.no_read)
  if args.json:
    keys = ("dataset", "protocol", "samples", "subjects", "classes", "skipped_subjects", "problems")
    print(json.dumps({k: result[k] for k in keys}, indent=1))
  else:
    _print(result, usable)
  return 0 if usable else 1


if __name__ == "__main__":
  sys.exit(main())
