"""Predict new clips with a finished run's fold models (its final checkpoints).

Every (seed, fold) model of the run predicts every new clip, with the run's
inputs, preprocessing and per-fold standardisation; the rows have the columns
of a run's predictions.csv, where `fold` and `seed` name the model.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from merjax import config as config_lib
from merjax import experiment, rundir
from merjax.data.records import subjects_of
from merjax.errors import MerjaxError
from merjax.models import inputs as model_inputs
from merjax.models.registry import build_model
from merjax.training import checkpoint, strategies
from merjax.training import trainer as trainer_lib


def _finished_records(workdir: str) -> dict[tuple[str, int], dict]:
  """(program, member) -> the member's progress record, for every finished member."""
  ledger = rundir.read_ledger(workdir)
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


def trained_members(workdir: str):
  """Yields (progress record, state) of every saved, unfailed fold model of a finished run,
  in checkpoint order. A state holds the `checkpoint.FINAL_KEYS` of that member, without
  the member axis; `selected_variables` gives what it predicts with."""
  records = _finished_records(workdir)
  for program, state, members in _saved_groups(workdir, records):
    for j, m in enumerate(members):
      record = records.get((program, m))
      if record and not record["failed"] and j == members.index(m):
        yield record, jax.tree.map(lambda x, j=j: np.asarray(x)[j], state)


def load_member(workdir: str, fold: str | None = None, seed: int | None = None
                ) -> tuple[dict, dict]:
  """(progress record, state) of the first saved fold model of a finished run whose fold
  name / seed match (None: any)."""
  for record, state in trained_members(workdir):
    if (fold is None or record["fold"] == fold) and (seed is None or record["seed"] == seed):
      return record, state
  raise MerjaxError(f"{workdir}: no saved model for fold {fold or 'any'} seed "
                    f"{'any' if seed is None else seed}")


def selected_variables(state: dict, selection_rule: str) -> dict:
  """The variables a trained member predicts with: the last epoch's, or (inner_val,
  oracle) the selected epoch's. The one place the best-or-last rule is read."""
  if selection_rule == "last":
    return {"params": state["params"], "batch_stats": state["batch_stats"]}
  return {"params": state["best_params"], "batch_stats": state["best_batch_stats"]}


# What `experiments.predict` may change: where the clips are and which of them.
PREDICT_KEYS = ("data.root", "data.manifest", "data.cache_dir")
PREDICT_GROUPS = ("data.options.", "data.synthetic.")


def _predict_data_config(config: dict, dataset: str, overrides: Sequence[str]) -> dict:
  """The run's data config on `dataset`, with location / clip-selection overrides only."""
  config = copy.deepcopy(config)
  config["data"]["dataset"] = dataset
  for item in overrides:
    key, value = config_lib.split_override(item)
    if key not in PREDICT_KEYS and not key.startswith(PREDICT_GROUPS):
      raise MerjaxError(
          f"predict override {key}: what the fold models see (inputs, preprocessing, scale, "
          f"protocol) comes from the run's config; only {', '.join(PREDICT_KEYS)} and "
          f"{', '.join(g + '*' for g in PREDICT_GROUPS)} may change")
    config_lib.set_path(config, key, value)
  from merjax.configs import schema  # pylint: disable=import-outside-toplevel
  return schema.validate(config)["data"]


def predict_clips(workdir: str, dataset: str, overrides: Sequence[str] = (),
                  out_path: str | None = None, combo: int | None = None, log=print) -> str:
  """Writes the predictions of every finished model of `workdir` on the clips
  of `dataset` and returns the CSV path (default <workdir>/predict-<dataset>/
  predictions.csv, numbered -2, -3, ... when taken; an existing `out_path` is
  refused). `overrides` may set only where the clips are and which (PREDICT_KEYS).
  In a sweep directory, `combo` picks the combination whose models predict."""
  config = rundir.read_json(os.path.join(workdir, rundir.CONFIG), rundir.CONFIG)
  records = _finished_records(workdir)
  if "sweep" in config:
    if combo is None:
      raise MerjaxError(f"{workdir} is a sweep: pass --combo N (see its sweep.md)")
    prefix = f"combo_{combo:03d}{os.sep}"
    records = {k: m for k, m in records.items() if m["predictions"].startswith(prefix)}
    class_names = rundir.class_names_of(os.path.join(workdir, f"combo_{combo:03d}",
                                                     rundir.PREDICTIONS))
    config = rundir.read_json(os.path.join(workdir, f"combo_{combo:03d}", rundir.CONFIG))
  else:
    class_names = rundir.class_names_of(os.path.join(workdir, rundir.PREDICTIONS))
  data_cfg = _predict_data_config(config, dataset, overrides)
  if out_path is not None and os.path.exists(out_path):
    raise MerjaxError(f"--out {out_path}: exists; choose a new path (predictions are never "
                      f"overwritten)")
  protocol, clips, y_N, _ = experiment.load_labelled(data_cfg, log)
  unknown = sorted(set(protocol.classes) - set(class_names))
  if unknown:
    raise MerjaxError(f"dataset {dataset}: classes {unknown} are not among the run's "
                      f"{class_names}")
  multilabel = data_cfg["task"] == "au"        # y_N: N x A multi-hot (docs/au.md)
  labels = list(y_N) if multilabel else [protocol.classes[y] for y in y_N]
  inputs = experiment.stage(clips, data_cfg)
  data = {"inputs": {r: jnp.asarray(x) for r, x in inputs.items()},
          "y": jnp.zeros(len(clips), jnp.int32)}
  model = build_model(config["model"], len(class_names))
  train = config["train"]
  fns = trainer_lib.FoldFunctions(
      model=model, loss_fn=None, tx=None, batch_size=1, steps_per_epoch=1, augment={},
      augment_roles=(), selection=train["selection"]["rule"],
      eval_batch_size=train["eval_batch_size"], offset_roles=model_inputs.offset_roles(config))
  predict = jax.jit(strategies.map_members(fns.predict, "sequential"))
  n = len(clips)
  if out_path is None:
    out_path = os.path.join(rundir.numbered_folder(workdir, f"predict-{dataset}"),
                            rundir.PREDICTIONS)
  os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
  writer = rundir.PredictionWriter(out_path, class_names, multilabel=multilabel)
  written = 0
  for program, state, members in _saved_groups(workdir, records):
    rows = {"test": jnp.tile(jnp.arange(n, dtype=jnp.int32), (len(members), 1)),
            "n_test": jnp.full((len(members),), n, jnp.int32)}
    logits_MxNxK = np.asarray(predict(data, state, rows))
    alive_M = np.asarray(state["alive"])
    for j, m in enumerate(members):
      record = records.get((program, m))
      if record is None or record["failed"] or not alive_M[j] or j != members.index(m):
        continue                       # another combination's, failed, or a padding copy
      writer.write((clip.dataset, clip.subject, clip.clip_id, record["fold"], record["seed"],
                    label, logits) for clip, label, logits in zip(clips, labels,
                                                                  logits_MxNxK[j]))
      written += 1
  if not written:
    raise MerjaxError(f"{workdir}: no final checkpoint to predict with (checkpoints/ missing?)")
  log(f"{written} model(s) x {n} clip(s) from {len(set(subjects_of(clips)))} subject(s) "
      f"-> {out_path}")
  return out_path
