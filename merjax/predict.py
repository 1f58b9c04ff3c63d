"""Predict new clips with a finished run's fold models (its final checkpoints).

Every (seed, fold) model of the run predicts every new clip, with the run's
inputs, preprocessing and per-fold standardisation; the rows have the columns
of a run's predictions.csv, where `fold` and `seed` name the model.
"""

from __future__ import annotations

import copy
import csv
import json
import os
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from merjax import config as config_lib
from merjax import experiment
from merjax.data.records import subjects_of
from merjax.errors import MerjaxError
from merjax.modalities.stage import stage_inputs
from merjax.models.registry import build_model
from merjax.training import checkpoint, strategies
from merjax.training import trainer as trainer_lib


def _run_class_names(workdir: str) -> list[str]:
  """The run's class order, from the logit columns of its predictions.csv."""
  path = os.path.join(workdir, "predictions.csv")
  try:
    with open(path, newline="") as f:
      header = next(csv.reader(f))
  except (OSError, StopIteration):
    raise MerjaxError(f"{path}: missing or empty; is {workdir} a finished run?") from None
  return [c[len("logit_"):] for c in header if c.startswith("logit_")]


def _finished_records(workdir: str) -> dict[tuple[str, int], dict]:
  """(program, member) -> the member's progress record, for every finished member."""
  ledger = experiment.Ledger(workdir, fresh=False)
  records = {(p, m["member"]): m for p, prog in ledger.data["programs"].items()
             for m in prog["members"]}
  if not records:
    raise MerjaxError(f"{workdir}: no finished member (progress.json); nothing to predict with")
  return records


def _saved_groups(workdir: str, records):
  """Yields (program, state of a finished group, its member indices) from the final checkpoints."""
  for program in sorted({p for p, _ in records}):
    ckpt = checkpoint.RunCheckpointer(
        os.path.join(workdir, "checkpoints", f"program_{program}"), 0)
    for g in ckpt.final_groups():
      state, members = ckpt.restore_final(g)
      yield program, state, members
    ckpt.close()


def load_member(workdir: str, fold: str | None = None, seed: int | None = None
                ) -> tuple[dict, dict]:
  """(progress record, state) of one saved fold model of a finished run: the
  first whose fold name / seed match (None: any). The state holds the
  `checkpoint.FINAL_KEYS` of that member, without the member axis."""
  records = _finished_records(workdir)
  for program, state, members in _saved_groups(workdir, records):
    for j, m in enumerate(members):
      record = records.get((program, m))
      if (record and not record["failed"] and (fold is None or record["fold"] == fold)
          and (seed is None or record["seed"] == seed)):
        return record, jax.tree.map(lambda x, j=j: np.asarray(x)[j], state)
  raise MerjaxError(f"{workdir}: no saved model for fold {fold or 'any'} seed "
                    f"{'any' if seed is None else seed}")


def predict_clips(workdir: str, dataset: str, overrides: Sequence[str] = (),
                  out_path: str | None = None, combo: int | None = None, log=print) -> str:
  """Writes the predictions of every finished model of `workdir` on the clips
  of `dataset` (data.* `overrides`, e.g. data.root=...) and returns the CSV
  path (default <workdir>/predict-<dataset>/predictions.csv). In a sweep
  directory, `combo` picks the combination whose models predict."""
  with open(os.path.join(workdir, "config.json")) as f:
    config = json.load(f)
  records = _finished_records(workdir)
  if "sweep" in config:
    if combo is None:
      raise MerjaxError(f"{workdir} is a sweep: pass --combo N (see its sweep.md)")
    prefix = f"combo_{combo:03d}{os.sep}"
    records = {k: m for k, m in records.items() if m["predictions"].startswith(prefix)}
    class_names = _run_class_names(os.path.join(workdir, f"combo_{combo:03d}"))
  else:
    class_names = _run_class_names(workdir)
  data_cfg = copy.deepcopy(config["data"])
  data_cfg["dataset"] = dataset
  for item in overrides:
    key, _, text = item.partition("=")
    key = config_lib.canonical_key(key)
    if not key.startswith("data.") or not text:
      raise MerjaxError(f"predict override '{item}': only data.<key>=value")
    config_lib.set_path({"data": data_cfg}, key, config_lib.parse_value(text))
  clips = experiment.load_clips(data_cfg)
  protocol = experiment.label_protocol(data_cfg, clips)
  clips, y_N, _ = protocol.apply(clips)
  unknown = sorted(set(protocol.classes) - set(class_names))
  if unknown:
    raise MerjaxError(f"dataset {dataset}: classes {unknown} are not among the run's "
                      f"{class_names}")
  labels = [protocol.classes[y] for y in y_N]
  inputs = stage_inputs(clips, data_cfg["inputs"], data_cfg["preprocess"],
                        cache_dir=experiment.modality_cache_dir(data_cfg))
  scale = float(data_cfg.get("input_scale", 1.0))
  data = {"inputs": {r: jnp.asarray(x * scale, jnp.float32) for r, x in inputs.items()},
          "y": jnp.zeros(len(clips), jnp.int32)}
  model = build_model(config["model"], len(class_names))
  train = config["train"]
  fns = trainer_lib.FoldFunctions(
      model=model, loss_fn=None, tx=None, batch_size=1, steps_per_epoch=1, augment={},
      augment_roles=(), selection=train["selection"]["rule"],
      eval_batch_size=int(train.get("eval_batch_size", 64)))
  predict = jax.jit(strategies.map_members(fns.predict, "sequential"))
  n = len(clips)
  out_path = out_path or os.path.join(workdir, f"predict-{dataset}", "predictions.csv")
  os.makedirs(os.path.dirname(out_path), exist_ok=True)
  written = 0
  with open(out_path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(experiment.PREDICTION_COLUMNS + tuple(f"logit_{c}" for c in class_names))
    for program, state, members in _saved_groups(workdir, records):
      rows = {"test": jnp.tile(jnp.arange(n, dtype=jnp.int32), (len(members), 1)),
              "n_test": jnp.full((len(members),), n, jnp.int32)}
      logits_MxNxK = np.asarray(predict(data, state, rows))
      alive_M = np.asarray(state["alive"])
      for j, m in enumerate(members):
        record = records.get((program, m))
        if record is None or record["failed"] or not alive_M[j] or j != members.index(m):
          continue                     # another combination's, failed, or a padding copy
        for clip, label, logits in zip(clips, labels, logits_MxNxK[j]):
          writer.writerow([clip.dataset, clip.subject, clip.clip_id, record["fold"],
                           record["seed"], label, class_names[int(logits.argmax())]]
                          + [f"{v:.6g}" for v in logits])
        written += 1
  if not written:
    raise MerjaxError(f"{workdir}: no final checkpoint to predict with (checkpoints/ missing?)")
  log(f"{written} model(s) x {n} clip(s) from {len(set(subjects_of(clips)))} subject(s) "
      f"-> {out_path}")
  return out_path
