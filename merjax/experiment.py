"""One LOSO (or split / cross-dataset) run: config -> data -> trainer -> run directory.

The run directory holds config.json (the full resolved config), predictions.csv
(appended as each group of folds finishes), progress.json (finished groups,
for resuming), checkpoints/ (merjax/training/checkpoint.py), history.json,
metrics.json, results.md and results.csv.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
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
from merjax.training import checkpoint, losses, optim, strategies
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
  """data.protocol, else the dataset's default protocol (merjax/data/labels.py;
  for --dataset tfds that of the dataset it holds), else every label present (synthetic: in CLASS_NAMES order; others sorted)."""
  from merjax.data import labels  # pylint: disable=import-outside-toplevel
  name = data_cfg.get("protocol") or labels.DEFAULT_PROTOCOL.get(data_cfg["dataset"])
  datasets = {c.dataset for c in clips}
  if not name and data_cfg["dataset"] == "tfds" and len(datasets) == 1:
    name = labels.DEFAULT_PROTOCOL.get(datasets.pop())   # a prepared TFDS copy of one dataset
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
      standardize=bool(config["data"].get("standardize", False)),
      loss_config=dict(train["loss"]),
      max_steps=int(train.get("total_steps", 0)))


class PredictionWriter:
  """Appends finished members' predictions to one predictions.csv."""

  def __init__(self, path: str, prepared: PreparedData, fold_names, fresh: bool = True):
    self.path, self.prepared, self.fold_names = path, prepared, fold_names
    if fresh or not os.path.exists(path):
      with open(path, "w", newline="") as f:
        csv.writer(f).writerow(PREDICTION_COLUMNS + tuple(
            f"logit_{c}" for c in prepared.class_names))

  def __call__(self, results: list[strategies.MemberResult]):
    p = self.prepared
    with open(self.path, "a", newline="") as f:
      writer = csv.writer(f)
      for r in results:
        if r.failed:
          continue
        fold_name = self.fold_names[r.fold]
        preds = r.logits.argmax(-1)
        for i, pred, logits in zip(r.test_idx, preds, r.logits):
          clip = p.clips[i]
          writer.writerow([clip.dataset, clip.subject, clip.clip_id, fold_name, r.seed,
                           p.class_names[p.y_N[i]], p.class_names[pred]]
                          + [f"{v:.6g}" for v in logits])


PROGRESS_FILE = "progress.json"


class Ledger:
  """`progress.json` of a run directory: per program its group size, finished
  groups and their members' histories, and the size of every output file
  after the last finished group (anything past it is cut on resume). Written
  atomically after each group."""

  def __init__(self, workdir: str, fresh: bool):
    self.workdir = workdir
    self.path = os.path.join(workdir, PROGRESS_FILE)
    if fresh or not os.path.exists(self.path):
      self.data = {"programs": {}, "files": {}}
    else:
      with open(self.path) as f:
        self.data = json.load(f)

  def program(self, key: str) -> dict:
    return self.data["programs"].setdefault(
        key, {"group_size": None, "num_groups": None, "groups_done": [], "members": []})

  def cut_partial_rows(self) -> None:
    """Truncates every output file to its size at the last finished group."""
    for rel, size in self.data["files"].items():
      path = os.path.join(self.workdir, rel)
      if os.path.exists(path) and os.path.getsize(path) > size:
        os.truncate(path, size)

  def commit(self, paths) -> None:
    for path in paths:
      self.data["files"][os.path.relpath(path, self.workdir)] = os.path.getsize(path)
    tmp = self.path + ".tmp"
    with open(tmp, "w") as f:
      json.dump(self.data, f)
    os.replace(tmp, self.path)

  def members(self) -> list[dict]:
    """Every finished member's history, in member order per program."""
    out = []
    for program in self.data["programs"].values():
      out += sorted(program["members"], key=lambda m: m["member"])
    return out


def _first_difference(a, b, path="") -> str | None:
  """The first dotted key where two JSON trees differ."""
  if isinstance(a, dict) and isinstance(b, dict):
    for k in sorted(set(a) | set(b)):
      d = _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
      if d:
        return d
    return None
  return None if a == b else f"{path or 'config'}: {a!r} there, {b!r} now"


def start_workdir(workdir: str, config: dict, restart: bool, log) -> bool:
  """Prepares `workdir` and returns True when it holds an interrupted run of
  the same config to resume. A different config there is an error (unless
  `restart`, which discards what the directory holds)."""
  os.makedirs(workdir, exist_ok=True)
  config_path = os.path.join(workdir, "config.json")
  progress_path = os.path.join(workdir, PROGRESS_FILE)
  as_json = json.loads(json.dumps(config, sort_keys=True))
  resuming = False
  if os.path.exists(progress_path) and os.path.exists(config_path) and not restart:
    with open(config_path) as f:
      saved = json.load(f)
    difference = _first_difference(saved, as_json)
    if difference:
      raise MerjaxError(f"{workdir} holds a run with another config ({difference}); resume it "
                        f"with its own config, or pass --restart or another --workdir")
    resuming = True
  else:
    for name in (PROGRESS_FILE, "checkpoints"):
      path = os.path.join(workdir, name)
      if os.path.isdir(path):
        shutil.rmtree(path)
      elif os.path.exists(path):
        os.remove(path)
    with open(config_path, "w") as f:
      json.dump(config, f, indent=2, sort_keys=True)
  return resuming


def train_program(config: Mapping, prepared: PreparedData, tables_: trainer_lib.MemberTables,
                  fns: trainer_lib.FoldFunctions, *, ledger: Ledger, key: str,
                  fold_names, route, checkpoint_dir: str, log) -> list[dict]:
  """Trains the members of one compiled program, resuming from the ledger and
  the checkpoints; `route(result)` gives the PredictionWriter of a member.
  Returns the program's finished member records."""
  train = config["train"]
  strategy = train.get("strategy", "sequential")
  chunk = int(train.get("chunk", 2))
  epochs = int(train["epochs"])
  if fns.max_steps > 0:
    epochs = trainer_lib.epochs_for_steps(tables_, fns.batch_size, fns.max_steps)
  progress = ledger.program(key)
  group_size = progress["group_size"] or int(train.get("group_size", 0))
  if group_size <= 0:
    data = {"inputs": prepared.inputs, "y": prepared.y_N}
    group_size = strategies.auto_group_size(fns, data, tables_, strategy, chunk)
  num_groups = len(strategies.member_groups(len(tables_), group_size))
  if progress["groups_done"]:
    log(f"resuming: {len(progress['groups_done'])} of {num_groups} groups already done")
  progress.update(group_size=group_size, num_groups=num_groups)
  checkpointer = None
  if train.get("save_final", True) or int(train.get("checkpoint_every", 0)) > 0:
    checkpointer = checkpoint.RunCheckpointer(checkpoint_dir, int(train.get("checkpoint_every", 0)),
                                              save_final=bool(train.get("save_final", True)))
  writers = {}

  def group_done(g, results):
    for r in results:
      writer = route(r)
      writers[writer.path] = writer
      writer([r])
      progress["members"].append({
          "member": r.member, "combo": r.combo, "seed": r.seed, "fold": fold_names[r.fold],
          "loss": r.loss_history, "selected_epoch": r.selected_epoch, "failed": r.failed,
          "predictions": os.path.relpath(writer.path, ledger.workdir)})
    progress["groups_done"].append(g)
    ledger.commit(list(writers))

  budget = f" (train.total_steps={fns.max_steps})" if fns.max_steps > 0 else ""
  log(f"program {key}: {len(tables_)} members, {epochs} epochs{budget} x "
      f"{fns.steps_per_epoch} steps, selection {_label_of_run(config)}, strategy {strategy}, "
      f"group {group_size}, device {jax.devices()[0].platform}")
  strategies.run_members(
      fns, {"inputs": prepared.inputs, "y": prepared.y_N}, tables_,
      epochs=epochs, strategy=strategy, group_size=group_size, chunk=chunk,
      on_group_done=group_done, done_groups=progress["groups_done"],
      checkpointer=checkpointer)
  if checkpointer is not None:
    checkpointer.close()
  return progress["members"]


def failed_members(records: list[dict], predictions: str) -> list[str]:
  """"seed S fold F" of the failed members that write to `predictions` (relative path)."""
  return [f"seed {m['seed']} fold {m['fold']}" for m in records
          if m["failed"] and m["predictions"] == predictions]


def write_history(workdir: str, records: list[dict]) -> None:
  with open(os.path.join(workdir, "history.json"), "w") as f:
    json.dump([{k: m[k] for k in ("seed", "fold", "loss", "selected_epoch", "failed")}
               for m in records], f)


def run(config: dict, workdir: str, log=None, restart: bool = False) -> dict:
  """Trains every (seed, fold) member of the config and writes the run directory;
  resumes an interrupted run of the same config in `workdir`.

  Returns the metrics dict written to metrics.json.
  """
  log = log or (lambda s: print(s, file=sys.stderr, flush=True))
  resuming = start_workdir(workdir, config, restart, log)
  prepared = prepare_data(config, log)
  train = config["train"]
  seeds = [int(train.get("seed", 0)) + i for i in range(int(train.get("seeds", 1)))]
  selection = train["selection"]
  tables_ = trainer_lib.member_tables(
      prepared.folds, seeds, prepared.subject_N, selection=selection["rule"],
      val_subjects=int(selection.get("val_subjects", 1)))
  model = build_model(config["model"], len(prepared.class_names))
  fns = build_fold_functions(config, model, tables_, tuple(prepared.inputs))
  ledger = Ledger(workdir, fresh=not resuming)
  if resuming:
    log(f"resuming the interrupted run in {workdir}")
    ledger.cut_partial_rows()
  log(f"run: {len(prepared.folds)} folds x {len(seeds)} seed(s) = {len(tables_)} members")
  path = os.path.join(workdir, "predictions.csv")
  writer = PredictionWriter(path, prepared, prepared.folds.names, fresh=not resuming)
  ledger.commit([path])
  records = train_program(config, prepared, tables_, fns, ledger=ledger, key="0",
                          fold_names=prepared.folds.names, route=lambda r: writer,
                          checkpoint_dir=os.path.join(workdir, "checkpoints", "program_0"),
                          log=log)
  write_history(workdir, records)
  return score_run(workdir, config, prepared.class_names,
                   failed_members(records, "predictions.csv"), prepared.folds.skipped)


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
