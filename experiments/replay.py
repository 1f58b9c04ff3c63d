"""Evaluate published per-subject weights: each LOSO fold's held-out clips predicted by
that fold's own checkpoint, written as a normal run directory.

  python -m experiments.replay --model ststnet --dataset megc2019 \\
      --weights 'STSTNet_Weights/{subject}.pth' [--format reference] [--workdir DIR] \\
      [key=value ...]

`--weights` is a path pattern with `{subject}` (the held-out subject's id, e.g. sub01, s01,
006), and optionally `{dataset}` and `{fold}` (the fold name with '/' as '_'). Every file is
read without running code from it (merjax/models/weights/readers.py) and converted from
`--format` (default: the model's own; STSTNet: its official main.py's names). The run
directory holds config.json, predictions.csv, metrics.json, results.md / .csv (as
experiments.loso writes them; no training, so history.json is empty) and replay.json (the
pattern and each subject's file and sha256).

A missing file is a one-line error naming the subject and the path tried. STSTNet's
reference reads its flow PNGs with cv2.imread (BGR) at raw 0-255: replay them with
`data.modality=image data.input_scale=255 data.channel_order=bgr` (docs/weights.md).
Exit status: 0 done, 2 bad input, 130 interrupted. Multi-process: the flags of
experiments.loso (docs/scaling.md); fold k is predicted by process k mod N.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import numpy as np

from merjax import cli, distributed, experiment, rundir
from merjax import config as config_lib
from merjax.errors import MerjaxError
from merjax.models.registry import build_model
from merjax.models.weights import export, pretrained
from merjax.training import trainer as trainer_lib


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--model", required=True)
  p.add_argument("--dataset", default="synthetic")
  p.add_argument("--weights", required=True,
                 help="per-subject weights path pattern, e.g. 'DIR/{subject}.pth'")
  p.add_argument("--format", default=None,
                 help="weights format: torchvision | timm | reference | merjax "
                      "(default: the model's own)")
  p.add_argument("--workdir", default=None,
                 help="run directory (default runs/replay-<model>-<dataset>-<time>)")
  p.add_argument("--force", action="store_true",
                 help="use a non-empty folder that is not a run directory; break a stale lock")
  p.add_argument("overrides", nargs="*", help="dotted key=value overrides")
  distributed.add_arguments(p)
  return p


def weights_path(pattern: str, fold: str, dataset: str, subject: str) -> str:
  """The pattern with {subject}, {dataset} and {fold} filled in."""
  try:
    return pattern.format(subject=subject, dataset=dataset, fold=fold.replace("/", "_"))
  except (KeyError, IndexError, ValueError) as e:
    raise MerjaxError(f"--weights {pattern}: bad pattern ({e}); use {{subject}}, {{dataset}}, "
                      f"{{fold}}") from None


def fold_subject(prepared, f: int) -> tuple[str, str]:
  """(dataset, subject) held out by fold f; MerjaxError unless it is one subject."""
  test = np.flatnonzero(prepared.folds.test_FxN[f])
  held = sorted({(prepared.clips[i].dataset, prepared.clips[i].subject) for i in test})
  if len(held) != 1:
    raise MerjaxError(f"fold {prepared.folds.names[f]}: holds out {len(held)} subjects; "
                      f"replay needs LOSO folds (data.folds=loso)")
  return held[0]


def replay(config: dict, pattern: str, workdir: str, fmt: str | None = None,
           log=cli.log, force: bool = False) -> dict:
  """Predicts every LOSO fold's held-out clips with that fold's own weights file and writes
  the run directory. Returns the metrics (metrics.json)."""
  with distributed.main_first("replay data"):     # process 0 fills the modality cache
    prepared = experiment.prepare_data(config, log)
  inputs = dict(prepared.inputs)
  model = build_model(config["model"], len(prepared.class_names))
  folds = prepared.folds
  plan = []
  for f, name in enumerate(folds.names):
    dataset, subject = fold_subject(prepared, f)
    path = weights_path(pattern, name, dataset, subject)
    if not os.path.isfile(path):
      raise MerjaxError(f"subject {subject} (fold {name}): no weights file {path}")
    plan.append((f, name, subject, path))
  apply = jax.jit(lambda v, b: model.apply(v, b, train=False)["logits"])
  seed = config["train"]["seed"]
  eval_b = config["train"]["eval_batch_size"]
  with rundir.RunDirectory(workdir, config, force=force) as rd:
    rd.check_inputs("program_0", rundir.input_fingerprint(prepared.clips, prepared.class_names))
    writer = rundir.PredictionWriter(rd.file(rundir.PREDICTIONS), prepared.class_names)
    record = {"weights": pattern, "format": fmt, "folds": [],
              "channel_order": config["data"]["channel_order"]}
    # Fold k is predicted by process k % P (every fold by the one process of a plain run);
    # process 0 gathers the logits and writes them in fold order.
    local_NxK = np.zeros((len(prepared.clips), len(prepared.class_names)), np.float32)
    tensors_F = np.zeros(len(plan), np.int64)
    for k, (f, name, subject, path) in enumerate(plan):
      if k % jax.process_count() != jax.process_index():
        continue
      test = np.flatnonzero(folds.test_FxN[f])
      fold_inputs = inputs
      if config["data"]["standardize"]:          # the trainer's per-fold statistics
        train_idx = np.flatnonzero(folds.train_FxN[f])
        norm = trainer_lib.norm_stats(inputs, train_idx, len(train_idx))
        fold_inputs = {r: np.asarray((x - norm[r][0]) / norm[r][1]) for r, x in inputs.items()}
      sample = {r: x[:1] for r, x in fold_inputs.items()}
      variables, report = export.load_variables(model, path, sample, fmt,
                                                what=f"subject {subject}: {path}")
      for start in range(0, len(test), eval_b):
        idx = test[start:start + eval_b]
        batch = {r: x[idx] for r, x in fold_inputs.items()}
        local_NxK[idx] = np.asarray(apply(variables, batch), np.float32)
      tensors_F[k] = len(report.loaded)
      log(f"fold {name}: {len(test)} clips with {os.path.basename(path)}")
    all_PxNxK, all_tensors_PxF = distributed.stack_processes((local_NxK, tensors_F))
    for k, (f, name, subject, path) in enumerate(plan if distributed.is_main() else ()):
      test, owner = np.flatnonzero(folds.test_FxN[f]), k % jax.process_count()
      writer.write((prepared.clips[i].dataset, prepared.clips[i].subject,
                    prepared.clips[i].clip_id, name, seed,
                    prepared.class_names[prepared.y_N[i]], all_PxNxK[owner, i])
                   for i in test)
      record["folds"].append({"fold": name, "subject": subject, "file": path,
                              "sha256": pretrained.file_sha256(path),
                              "tensors": int(all_tensors_PxF[owner, k])})
    if not distributed.is_main():      # process 0 writes and scores; the others read it
      distributed.barrier("scored")
      return rundir.read_json(rd.file(rundir.METRICS))
    rundir.write_json(rd.file("replay.json"), record, indent=2)
    experiment.write_history(workdir, [])
    metrics = experiment.score_run(workdir, config, prepared.class_names, (), folds.skipped)
    distributed.barrier("scored")
    return metrics


def main(argv=None) -> int:
  args = cli.parse(parser(), argv)
  workdir = args.workdir or os.path.join(
      "runs", f"replay-{args.model}-{args.dataset}-{time.strftime('%Y%m%d-%H%M%S')}")

  def body():
    distributed.initialize_from_args(args)
    config = config_lib.resolve(args.model, args.dataset, args.overrides)
    replay(config, args.weights, workdir, args.format, force=args.force)
    if distributed.is_main():
      with open(os.path.join(workdir, rundir.RESULTS_MD)) as f:
        print(f.read())
      print(f"run directory: {workdir}")
    return cli.OK

  return cli.guarded(body)


if __name__ == "__main__":
  sys.exit(main())
