"""Validates a dataset copy without training.

  python -m experiments.check_data --dataset NAME --root DIR [--protocol NAME] [--json] [--no-read]
      [--faces [--face-pipeline align|fdp_release] [--face-reference onset|mean]
       [--face-detector dlib|mediapipe] [--face-on-cropped skip|detect]]

Finds the annotation file (and says which one it read when there are several),
checks every clip's frames (existence, and with reading on, that each file
decodes and has the clip's frame size), applies the label protocol, and prints
samples per class and per subject, the subjects LOSO will skip, and every
problem found (where, what, what was done), including clips whose onset is
their apex (motion modalities refuse them unless data.onset_equals_apex=drop).
Exit status 0 when the copy is usable (no error, at least one sample, two
subjects), 1 otherwise; a NOT usable verdict always lists why. For
--dataset manifest, --root is the manifest CSV; for synthetic it is ignored.

--faces runs the face step (merjax.faces; the `faces` extra) on every clip the
protocol keeps and lists each clip where no face is found (dataset/subject/clip,
frame and file) with what data.preprocess.face_policy would do; these do not make
the copy unusable (the policy decides). Clips of a cropped release are not
detected unless --face-on-cropped detect.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys

from merjax.data import registry
from merjax.data.labels import DEFAULT_PROTOCOL, protocol_for
from merjax.data.records import odd_frame
from merjax.data.sheets import FATAL
from merjax.errors import MerjaxError

ONSET_IS_APEX = ("motion modalities (differences, flow, dynamic images) refuse it; "
                 "data.onset_equals_apex=drop leaves it out")


NO_FACE = ("data.preprocess.face_policy decides: fail stops the run, skip leaves the clip "
           "out, whole_frame uses the whole frame")


def check(dataset: str, root: str, protocol: str | None = None, read: bool = True,
          faces: dict | None = None, **options) -> tuple[dict, bool]:
  """(summary dict as --json prints it, usable?). faces: data.preprocess face keys
  to run the face step with (None: no face check)."""
  problems: list[dict] = []
  result = {"dataset": dataset, "protocol": protocol or DEFAULT_PROTOCOL.get(dataset),
            "samples": 0, "subjects": 0,
            "classes": {}, "skipped_subjects": [], "problems": problems}
  data_cfg = {"dataset": dataset, "root": root, "manifest": root, "protocol": protocol,
              "options": options, "synthetic": options}
  try:
    clips = registry.load_clips(data_cfg, **({} if dataset == "synthetic" else
                                             {"problems": problems, "collect_errors": True}))
    _note_onset_is_apex(clips, problems)
    if read:
      _check_frames(clips, problems)
    proto = protocol_for(data_cfg, clips)
    result["protocol"] = proto.name
    kept, y, dropped = proto.apply(clips)
    if faces is not None:
      result["faces"] = _check_faces(kept, faces, problems)
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
  where = f"{dataset} copy"
  if any(p["action"] == FATAL for p in problems):
    pass                                  # the verdict has its reasons already
  elif not kept:
    labels = sorted({c.label for c in clips})
    problems.append({"where": where, "what": f"protocol {proto.name} keeps none of the "
                     f"{len(clips)} clips (labels: {', '.join(labels) or 'none'})",
                     "action": FATAL})
  elif len(per_subject) < 2:
    problems.append({"where": where, "what": f"only {len(per_subject)} subject with samples "
                     f"under protocol {proto.name}; LOSO needs 2", "action": FATAL})
  fatal = any(p["action"] == FATAL for p in problems)
  return result, not fatal


def _note_onset_is_apex(clips, problems):
  """A note per clip whose annotated onset is its apex."""
  for clip in clips:
    if clip.apex is not None and clip.apex == clip.onset and clip.num_frames > 1:
      problems.append({"where": f"{clip.key} ({clip.source})",
                       "what": f"onset == apex (frame {clip.onset})", "action": ONSET_IS_APEX})


def _check_faces(clips, face_keys, problems) -> dict:
  """Runs the face step on every clip; a problem per clip without a face.
  Returns the counts {clips, aligned, no_face, cropped}."""
  from merjax.faces import pipeline  # pylint: disable=import-outside-toplevel
  from merjax.modalities import stage  # pylint: disable=import-outside-toplevel
  cfg = stage.resolve_preprocess({"face_pipeline": "align", **face_keys})
  results = pipeline.align_clips(clips, cfg)
  counts = {"clips": len(clips), "aligned": 0, "no_face": 0, "cropped": 0}
  for clip, r in zip(clips, results, strict=True):
    status = "aligned" if r is None else r.status
    counts[status if status in counts else "aligned"] += 1
    if status == "no_face":
      problems.append({"where": pipeline.where(clip, r.frame),
                       "what": f"no face found ({cfg['face_detector']} detector, "
                               f"face_pipeline={cfg['face_pipeline']})", "action": NO_FACE})
  return counts


def _check_frames(clips, problems):
  """Decodes every frame file; one problem per clip with unreadable frames or a
  frame of another size than the clip's others."""
  import cv2
  for clip in clips:
    if not isinstance(clip.frames, tuple):
      continue
    images = [cv2.imread(p, cv2.IMREAD_UNCHANGED) for p in clip.frames]
    bad = [p for p, im in zip(clip.frames, images) if im is None]
    where = f"{clip.key} ({clip.source})"
    if bad:
      problems.append({"where": where,
                       "what": f"{len(bad)} of {clip.num_frames} frame files unreadable, "
                               f"first {bad[0]}", "action": FATAL})
      continue
    odd = odd_frame(clip.frames, [im.shape[:2] for im in images])
    if odd:
      problems.append({"where": where, "what": odd, "action": FATAL})


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
  if "faces" in result:
    f = result["faces"]
    w(f"faces: {f['aligned']} of {f['clips']} clips aligned, {f['no_face']} without a face, "
      f"{f['cropped']} from a cropped release (not detected)")
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
  parser.add_argument("--faces", action="store_true", help="run the face step, list clips "
                      "without a face")
  parser.add_argument("--face-pipeline", default="align", choices=("align", "fdp_release"))
  parser.add_argument("--face-reference", default="onset", choices=("onset", "mean"))
  parser.add_argument("--face-detector", default="dlib", choices=("dlib", "mediapipe"))
  parser.add_argument("--face-on-cropped", default="skip", choices=("skip", "detect"))
  args = parser.parse_args(argv)
  faces = None
  if args.faces:
    faces = {"face_pipeline": args.face_pipeline, "face_reference": args.face_reference,
             "face_detector": args.face_detector, "face_on_cropped": args.face_on_cropped}
    import logging  # pylint: disable=import-outside-toplevel
    from merjax import cli  # pylint: disable=import-outside-toplevel
    cli.configure_logging(logging.INFO)    # the face step's progress on stderr
  result, usable = check(args.dataset, args.root, args.protocol, read=not args.no_read,
                         faces=faces)
  if args.json:
    keys = ("dataset", "protocol", "samples", "subjects", "classes", "skipped_subjects", "problems")
    keys += ("faces",) if "faces" in result else ()
    print(json.dumps({k: result[k] for k in keys}, indent=1))
  else:
    _print(result, usable)
  return 0 if usable else 1


if __name__ == "__main__":
  sys.exit(main())
