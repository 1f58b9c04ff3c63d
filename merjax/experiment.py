"""One LOSO (or split / cross-dataset) run: config -> data -> trainer -> run directory.

The run directory holds config.json (the full resolved config), predictions.csv
(appended as each group of folds finishes), metrics.json, results.md and
results.csv.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
import time
from typing import Mapping

import jax
import numpy as np

from merjax.data import protocols
from merjax.data import registry as data_registry
from merjax.data.records import Clip, subjects_of
from merjax.errors import MerjaxError
from merjax.evaluation import aggregate, tables
from merjax.modalities.stage import stage_inputs
from merjax.models.registry import build_model
from merjax.training import losses, optim, strategies
from merjax.training import trainer as trainer_lib

PREDICTION_COLUMNS = ("dataset", "subject", "clip", "fold", "seed", "label", "pred")


@dataclasses.dataclass
class PreparedData:
  """Everything downstream of the loaders, as arrays over N samples."""
  clips: list[Clip]
  class_names: tuple[str, ...]
  y_N: np.ndarray
  subject_N: np.ndarray        # "dataset/subject" keys
  dataset_N: np.ndarray
  inputs: dict[str, np.ndarray]
  folds: protocols.Folds
  dropped_labels: dict[str, int]


def load_clips(data_cfg: Mapping) -> list[Clip]:
  """Loads the clips of data_cfg["dataset"] with its options."""
  name = data_cfg["dataset"]
  load = data_registry.loader(name)
  if name == "synthetic":
    return load(**data_cfg.get("synthetic", {}))
  if name == "manifest":
    if not data_cfg.get("manifest"):
      raise MerjaxError("--dataset manifest needs data.manifest=/path/to/manifest.csv")
    return load(data_cfg["manifest"])
  if not data_cfg.get("root"):
    raise MerjaxError(f"--dataset {name} needs data.root=/path/to/{name}")
  return load(data_cfg["root"], **data_cfg.get("options", {}))


def label_protocol(data_cfg: Mapping, clips) -> protocols.LabelProtocol:
  """data.protocol, else the dataset's default protocol (merjax/data/labels.py),
  else every label present (synthetic: in CLASS_NAMES order; others sorted)."""
  from merjax.data import labels  # pylint: disable=import-outside-toplevel
  name = data_cfg.get("protocol") or labels.DEFAULT_PROTOCOL.get(data_cfg["dataset"])
  if not name:
    if data_cfg["dataset"] == "synthetic":
      from merjax.data.synthetic import CLASS_NAMES  # pylint: disable=import-outside-toplevel
      present = {c.label for c in clips}
      return protocols.identity_protocol(
          "synthetic", [c for c in CLASS_NAMES if c in present])
    return protocols.identity_protocol("labels_sorted", sorted({c.label for c in clips}))
  return labels.get_protocol(name, clips)


def modality_cache_dir(data_cfg: Mapping) -> str | None:
  """data.cache_dir, else $MERJAX_CACHE, else ~/.cache/merjax; "" disables caching."""
  path = data_cfg.get("cache_dir")
  if path is None:
    path = os.environ.get("MERJAX_CACHE",
                          os.path.join(os.path.expanduser("~"), ".cache", "merjax"))
  return os.path.join(path, "modalities") if path else None


def prepare_data(config: Mapping, log=print) -> PreparedData:
  data_cfg = config["data"]
  clips = load_clips(data_cfg)
  all_subjects = sorted(set(subjects_of(clips)))
  protocol = label_protocol(data_cfg, clips)
  clips, y_N, dropped = protocol.apply(clips)
  if dropped:
    log(f"protocol {protocol.name}: dropped labels {dropped}")
  if not clips:
    raise MerjaxError(f"protocol {protocol.name}: no clip left")
  subject_N = np.asarray(subjects_of(clips))
  dataset_N = np.asarray([c.dataset for c in clips])
  folds = protocols.make_folds(
      data_cfg.get("folds", "loso"), subject_N=subject_N, y_N=y_N,
      dataset_N=dataset_N, all_subjects=all_subjects,
      test_fraction=data_cfg.get("test_fraction", 0.1),
      seed=config["train"].get("seed", 0),
      train_dataset=data_cfg.get("train_dataset", ""),
      test_dataset=data_cfg.get("test_dataset", ""))
  if folds.skipped:
    log(f"LOSO skips subjects with no samples: {', '.join(folds.skipped)}")
  t0 = time.perf_counter()
  inputs = stage_inputs(clips, data_cfg["inputs"], data_cfg["preprocess"],
                        cache_dir=modality_cache_dir(data_cfg))
  scale = float(data_cfg.get("input_scale", 1.0))
  inputs = {r: (x * scale).astype(np.float32) for r, x in inputs.items()}
  log(f"data: {len(clips)} clips, {len(set(subject_N))} subjects, "
      f"{len(protocol.classes)} classes, inputs "
      + ", ".join(f"{r}={data_cfg['inputs'][r]}{tuple(x.shape[1:])}" for r, x in inputs.items())
      + f" ({time.perf_counter() - t0:.1f}s)")
  return PreparedData(clips, protocol.classes, y_N, subject_N, dataset_N, inputs,
                      folds, dropped)


def _label_of_run(config: Mapping) -> str:
  rule = config["train"]["selection"]["rule"]
  return "ORACLE (epoch chosen on the test subject)" if rule == "oracle" else rule


def build_fold_functions(config: Mapping, model, tables_, roles) -> trainer_lib.FoldFunctions:
  train = config["train"]
  augment_roles = tuple(r for r in train.get("augment_inputs", roles) if r in roles)
  return trainer_lib.FoldFunctions(
      model=model, loss_fn=losses.make_loss(train["loss"]),
      tx=optim.make_optimizer(train["optimizer"]),
      batch_size=int(train["batch_size"]),
      steps_per_epoch=trainer_lib.steps_per_epoch(tables_, int(train["batch_size"])),
      augment=train.get("augment", {}), augment_roles=augment_roles,
      selection=train["selection"]["rule"],
      patience=int(train["selection"].get("patience", 10)),
      eval_batch_size=int(train.get("eval_batch_size", 64)),
      param_dtype=train.get("param_dtype", "float32"),
      standardize=bool(config["data"].get("standardize", False)))


class PredictionWriter:
  """Appends each finished group's predictions to predictions.csv."""

  def __init__(self, path: str, prepared: PreparedData, folds: protocols.Folds):
    self.path, self.prepared, self.folds = path, prepared, folds
    self.failed: list[str] = []
    with open(path, "w", newline="") as f:
      csv.writer(f).writerow(PREDICTION_COLUMNS + tuple(
          f"logit_{c}" for c in prepared.class_names))

  def __call__(self, results: list[strategies.MemberResult]):
    p = self.prepared
    with open(self.path, "a", newline="") as f:
      writer = csv.writer(f)
      for r in results:
        fold_name = self.folds.names[r.fold]
        if r.failed:
          self.failed.append(f"seed {r.seed} fold {fold_name}")
          continue
        preds = r.logits.argmax(-1)
        for i, pred, logits in zip(r.test_idx, preds, r.logits):
          clip = p.clips[i]
          writer.writerow([clip.dataset, clip.subject, clip.clip_id, fold_name, r.seed,
                           p.class_names[p.y_N[i]], p.class_names[pred]]
                          + [f"{v:.6g}" for v in logits])


def run(config: dict, workdir: str, log=None) -> dict:
  """Trains every (seed, fold) member of the config and writes the run directory.

  Returns the metrics dict written to metrics.json.
  """
  log = log or (lambda s: print(s, file=sys.stderr, flush=True))
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "config.json"), "w") as f:
    json.dump(config, f, indent=2, sort_keys=True)
  prepared = prepare_data(config, log)
  train = config["train"]
  seeds = [int(train.get("seed", 0)) + i for i in range(int(train.get("seeds", 1)))]
  selection = train["selection"]
  tables_ = trainer_lib.member_tables(
      prepared.folds, seeds, prepared.subject_N, selection=selection["rule"],
      val_subjects=int(selection.get("val_subjects", 1)))
  model = build_model(config["model"], len(prepared.class_names))
  fns = build_fold_functions(config, model, tables_, tuple(prepared.inputs))
  strategy = train.get("strategy", "sequential")
  data = {"inputs": prepared.inputs, "y": prepared.y_N}
  group_size = int(train.get("group_size", 0))
  if group_size <= 0:
    group_size = strategies.auto_group_size(fns, data, tables_, strategy,
                                            int(train.get("chunk", 2)))
  log(f"run: {len(prepared.folds)} folds x {len(seeds)} seed(s) = {len(tables_)} members, "
      f"{train['epochs']} epochs x {fns.steps_per_epoch} steps, selection "
      f"{_label_of_run(config)}, strategy {strategy}, group {group_size}, "
      f"device {jax.devices()[0].platform}")
  writer = PredictionWriter(os.path.join(workdir, "predictions.csv"), prepared,
                            prepared.folds)
  results = strategies.run_members(
      fns, data, tables_,
      epochs=int(train["epochs"]), strategy=strategy, group_size=group_size,
      chunk=int(train.get("chunk", 2)), on_group_done=writer)
  with open(os.path.join(workdir, "history.json"), "w") as f:
    json.dump([{"seed": r.seed, "fold": prepared.folds.names[r.fold],
                "loss": r.loss_history, "selected_epoch": r.selected_epoch,
                "failed": r.failed} for r in results], f)
  metrics = score_run(workdir, config, prepared.class_names, writer.failed,
                      prepared.folds.skipped)
  return metrics


def score_run(workdir: str, config: Mapping, class_names, failed=(), skipped=()) -> dict:
  """Computes metrics.json, results.md and results.csv from predictions.csv."""
  try:
    preds = aggregate.read_predictions_csv(os.path.join(workdir, "predictions.csv"),
                                           class_names)
  except MerjaxError:
    if failed:
      raise MerjaxError(f"{workdir}: no predictions (failed: {', '.join(failed)})") from None
    raise
  metrics = aggregate.summarize_predictions(preds)
  metrics["selection"] = config["train"]["selection"]["rule"]
  metrics["oracle"] = metrics["selection"] == "oracle"
  metrics["failed_folds"] = list(failed)
  metrics["skipped_subjects"] = list(skipped)
  with open(os.path.join(workdir, "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)
  title = f"{config['model']['name']} on {config['data']['dataset']}"
  if metrics["oracle"]:
    title += " (ORACLE selection: epoch chosen on the test subject)"
  with open(os.path.join(workdir, "results.md"), "w") as f:
    f.write(tables.format_report(metrics, title))
  with open(os.path.join(workdir, "results.csv"), "w") as f:
    f.write(tables.format_csv(metrics, split_std=True))
  return metrics
