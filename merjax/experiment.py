"""The run core: config -> data -> planned members -> trainer -> run directory.

A single run is a plan with one combination whose run directory is the
workdir; a sweep (merjax/sweep.py) is a plan with many, each in combo_NNN/.
`run_plan` trains every planned member, program by program, and is the only
training loop of the CLIs; `merjax/rundir.py` owns every file it writes.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence

import jax
import numpy as np

from merjax import distributed, rundir
from merjax.config import set_path
from merjax.data import au, labels, protocols
from merjax.data import registry as data_registry
from merjax.data.records import Clip, subjects_of
from merjax.errors import MerjaxError
from merjax.evaluation import aggregate, au_metrics, tables
from merjax.modalities.stage import screen_clips, stage_inputs
from merjax.models import inputs as model_inputs
from merjax.models.registry import build_model
from merjax.models.weights import pretrained
from merjax.training import augment as augment_lib
from merjax.training import checkpoint, losses, optim, strategies
from merjax.training import trainer as trainer_lib

logger = logging.getLogger(__name__)


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

  def data(self) -> dict:
    """The on-device dataset the trainer gathers from."""
    return {"inputs": self.inputs, "y": self.y_N}


def load_labelled(data_cfg: Mapping, log=logger.info):
  """(protocol, clips, y_N, dropped labels): the dataset's clips under its label
  protocol, without the clips its modalities cannot use (data.onset_equals_apex).
  data.task=au: the protocol's classes are the AU set and y_N is N x A multi-hot
  (merjax/data/au.py); clips without AU codes are dropped."""
  clips = data_registry.load_clips(data_cfg)
  if data_cfg["task"] == "au":
    names, clips, y_N, n_dropped = au.label_clips(clips, data_cfg["action_units"], log)
    protocol = protocols.identity_protocol("au", names)
    dropped = {"(no AU codes)": n_dropped} if n_dropped else {}
  else:
    protocol, clips, y_N, dropped = labels.apply_protocol(data_cfg, clips, log)
  keep = screen_clips(clips, data_cfg["inputs"], data_cfg["preprocess"],
                      data_cfg["onset_equals_apex"], log, cache_dir=modality_cache_dir(data_cfg))
  if len(keep) < len(clips):           # screen_clips refuses to leave none
    clips, y_N = [clips[i] for i in keep], np.asarray(y_N)[keep]
  return protocol, clips, y_N, dropped


def modality_cache_dir(data_cfg: Mapping) -> str | None:
  """data.cache_dir, else $MERJAX_CACHE, else ~/.cache/merjax; "" disables caching."""
  path = data_cfg["cache_dir"]
  if path is None:
    path = os.environ.get("MERJAX_CACHE",
                          os.path.join(os.path.expanduser("~"), ".cache", "merjax"))
  return os.path.join(path, "modalities") if path else None


def stage(clips, data_cfg: Mapping) -> dict[str, np.ndarray]:
  """The model inputs {role: X_N...} of `clips` (float32, scaled by data.input_scale)."""
  return stage_inputs(clips, data_cfg["inputs"], data_cfg["preprocess"],
                      cache_dir=modality_cache_dir(data_cfg),
                      input_scale=float(data_cfg["input_scale"]),
                      channel_order=data_cfg["channel_order"])


def prepare_data(config: Mapping, log=logger.info) -> PreparedData:
  """Loads, labels, folds and stages the data of a validated config."""
  data_cfg = config["data"]
  protocol, clips, y_N, dropped = load_labelled(data_cfg, log)
  all_subjects = sorted(set(subjects_of(clips)))
  subject_N = np.asarray(subjects_of(clips))
  dataset_N = np.asarray([c.dataset for c in clips])
  folds = protocols.make_folds(
      data_cfg["folds"], subject_N=subject_N, y_N=y_N,
      dataset_N=dataset_N, all_subjects=all_subjects,
      test_fraction=data_cfg["test_fraction"], split_rule=data_cfg["split_rule"],
      seed=config["train"]["seed"],
      train_dataset=data_cfg["train_dataset"], test_dataset=data_cfg["test_dataset"])
  if folds.skipped:
    log(f"LOSO skips subjects with no samples: {', '.join(folds.skipped)}")
  inputs = stage(clips, data_cfg)
  log(f"data: {len(clips)} clips, {len(set(subject_N))} subjects, "
      f"{len(protocol.classes)} {'AUs' if data_cfg['task'] == 'au' else 'classes'}, inputs "
      + ", ".join(f"{r}={data_cfg['inputs'][r]}{tuple(x.shape[1:])}" for r, x in inputs.items()))
  return PreparedData(clips, protocol.classes, y_N, subject_N, dataset_N, inputs,
                      folds, dropped)


def selection_label(config: Mapping) -> str:
  """The selection rule as results show it (oracle spelled out)."""
  rule = config["train"]["selection"]["rule"]
  return "ORACLE (epoch chosen on the test subject)" if rule == "oracle" else rule


def seeds_of(config: Mapping) -> list[int]:
  train = config["train"]
  return [train["seed"] + i for i in range(train["seeds"])]


def member_tables(config: Mapping, folds: protocols.Folds, subject_N, combos=None):
  """The member index tables of folds x seeds (x combinations) of a config."""
  selection = config["train"]["selection"]
  return trainer_lib.member_tables(folds, seeds_of(config), subject_N,
                                   selection=selection["rule"],
                                   val_subjects=selection["val_subjects"], combos=combos)


def build_fold_functions(config: Mapping, model, tables_, roles) -> trainer_lib.FoldFunctions:
  train = config["train"]
  augment_roles = tuple(r for r in (train["augment_inputs"] or roles) if r in roles)
  return trainer_lib.FoldFunctions(
      model=model, loss_fn=losses.make_loss(train["loss"]),
      tx=optim.make_optimizer(train["optimizer"]),
      batch_size=train["batch_size"],
      steps_per_epoch=trainer_lib.steps_per_epoch(tables_, train["batch_size"]),
      last_step_batch=trainer_lib.last_step_batch(tables_, train["batch_size"]),
      full_steps=trainer_lib.full_steps(tables_, train["batch_size"]),
      augment=train["augment"], augment_roles=augment_roles,
      selection=train["selection"]["rule"],
      patience=train["selection"]["patience"],
      eval_batch_size=train["eval_batch_size"],
      param_dtype=train["param_dtype"],
      standardize=config["data"]["standardize"],
      loss_config=dict(train["loss"]),
      max_steps=train["total_steps"],
      offset_roles=model_inputs.offset_roles(config),
      flow_roles=augment_lib.flow_channels(config, augment_roles),
      multilabel=config["data"]["task"] == "au",
      **trainer_lib.config_options(config))


def with_values(config: Mapping, values: Mapping) -> dict:
  """A copy of config with each dotted key set (the sweep section dropped)."""
  out = copy.deepcopy({k: v for k, v in config.items() if k != "sweep"})
  for key, value in values.items():
    set_path(out, key, value)
  return out


@dataclasses.dataclass
class Plan:
  """Combinations of a run, grouped into compiled programs.

  combos: per combination its {dotted key: value}; programs: lists of
  combination indices sharing `structural` values; `traced` keys are
  per-member columns. combo_dir(c) is combination c's run directory, and
  extend_folds (nested selection) adds inner folds to each program's folds."""
  combos: list[dict]
  programs: list[list[int]]
  traced: list[str]
  structural: list[str]
  combo_dir: Callable[[int], str]
  extend_folds: Callable | None = None
  inner_dir: Callable[[int], str] | None = None

  @classmethod
  def single(cls, workdir: str) -> Plan:
    return cls([{}], [[0]], [], [], lambda c: workdir)


def first_failed_epoch(loss_history: Sequence[float]) -> int | None:
  """1-based epoch of the first non-finite loss (None when every loss is finite)."""
  for e, loss in enumerate(loss_history, start=1):
    if not math.isfinite(loss):
      return e
  return None


def _rows(prepared: PreparedData, fold_name: str, r: strategies.MemberResult):
  multilabel = prepared.y_N.ndim == 2        # data.task=au: the true AU vector
  for i, logits in zip(r.test_idx, r.logits):
    clip = prepared.clips[i]
    yield (clip.dataset, clip.subject, clip.clip_id, fold_name, r.seed,
           prepared.y_N[i] if multilabel else prepared.class_names[prepared.y_N[i]], logits)


def train_program(config: Mapping, prepared: PreparedData, tables_: trainer_lib.MemberTables,
                  fns: trainer_lib.FoldFunctions, *, ledger: rundir.Ledger, key: str,
                  fold_names, route, checkpoint_dir: str, log) -> list[dict]:
  """Trains the members of one compiled program, resuming from the ledger and
  the checkpoints; `route(result)` gives the PredictionWriter of a member.
  Returns the program's finished member records."""
  train = config["train"]
  strategy, chunk = train["strategy"], train["chunk"]
  epochs = train["epochs"]
  if fns.max_steps > 0:
    epochs = trainer_lib.epochs_for_steps(tables_, fns.batch_size, fns.max_steps)
  progress = ledger.program(key)
  group_size = progress["group_size"] or train["group_size"]
  if group_size <= 0:
    group_size = strategies.auto_group_size(fns, prepared.data(), tables_, strategy, chunk,
                                            fraction=train["memory_fraction"])
  if not progress["group_size"]:     # a multiple of the (global) device count, the same everywhere
    group_size = distributed.broadcast(
        math.ceil(group_size / jax.device_count()) * jax.device_count(), "group size")
  num_groups = len(strategies.member_groups(len(tables_), group_size))
  if progress["groups_done"]:
    log(f"resuming: {len(progress['groups_done'])} of {num_groups} groups already done")
  progress.update(group_size=group_size, num_groups=num_groups)
  checkpointer = None
  if train["save_final"] or train["checkpoint_every"] > 0:
    checkpointer = checkpoint.RunCheckpointer(checkpoint_dir, train["checkpoint_every"],
                                              save_final=train["save_final"])
  writers = {}

  def group_done(g, results):
    for r in results:
      writer = route(r)
      writers[writer.path] = writer
      if not r.failed:
        writer.write(_rows(prepared, fold_names[r.fold], r))
      record = {"member": r.member, "combo": r.combo, "seed": r.seed,
                "fold": fold_names[r.fold], "loss": r.loss_history,
                "selected_epoch": r.selected_epoch, "failed": r.failed,
                "failed_epoch": first_failed_epoch(r.loss_history) if r.failed else None,
                "predictions": os.path.relpath(writer.path, ledger.workdir)}
      if r.failed:
        log(f"FAILED: seed {r.seed} fold {record['fold']}"
            + (f" combination {r.combo}" if int(tables_.combo_M.max()) > 0 else "")
            + f": loss not finite at epoch {record['failed_epoch']}; member frozen, not scored")
      progress["members"].append(record)
    progress["groups_done"].append(g)
    ledger.commit(list(writers))

  seconds, flops, steps = strategies.estimate_seconds(fns, prepared.data(), tables_, epochs)
  log(f"estimate: {steps} fold-steps x {flops / 1e9:.3g} GFLOP on {jax.devices()[0].platform} "
      f"= ~{strategies.clock(seconds)} of training (rough, +-3x; compilation extra)")
  budget = f" (train.total_steps={fns.max_steps})" if fns.max_steps > 0 else ""
  log(f"program {key}: {len(tables_)} members, {epochs} epochs{budget} x "
      f"{fns.steps_per_epoch} steps, selection {selection_label(config)}, strategy {strategy}, "
      f"group {group_size}, device {jax.devices()[0].platform}")
  try:
    strategies.run_members(
        fns, prepared.data(), tables_, epochs=epochs, strategy=strategy,
        group_size=group_size, chunk=chunk, on_group_done=group_done,
        done_groups=progress["groups_done"], checkpointer=checkpointer,
        step_progress=strategies.wants_step_progress(
            seconds, epochs, math.ceil(len(tables_) / group_size)))
  finally:
    if checkpointer is not None:
      checkpointer.close()
  return progress["members"]


def fingerprinted_clips(prepared: PreparedData) -> list[Clip]:
  """The clips as inputs.json fingerprints them: an AU run's label is its AU set
  (`AU1+AU4`), so a resume refuses changed AU codes as it refuses changed emotions."""
  if prepared.y_N.ndim != 2:
    return prepared.clips
  return [dataclasses.replace(c, label=au_metrics.label_text(y, prepared.class_names))
          for c, y in zip(prepared.clips, prepared.y_N)]


def run_plan(config: Mapping, rd: rundir.RunDirectory, plan: Plan, log) -> tuple[list[dict], PreparedData]:
  """Trains every member of every planned combination, program by program,
  writing each combination's predictions as its groups finish. Returns the
  member records and the prepared data of the last program."""
  ledger = rundir.Ledger(rd.path, fresh=not rd.resuming)
  if rd.resuming:
    log(f"resuming the interrupted run in {rd.path}")
    ledger.cut_partial_rows()
  records, prepared = [], None
  for p, combo_ids in enumerate(plan.programs):
    program_config = with_values(config, {k: plan.combos[combo_ids[0]][k]
                                          for k in plan.structural})
    with distributed.main_first(f"data of program {p}"):   # process 0 fills the cache
      prepared = prepare_data(program_config, log)
    rd.check_inputs(f"program_{p}",
                    rundir.input_fingerprint(fingerprinted_clips(prepared), prepared.class_names))
    folds, num_outer = prepared.folds, len(prepared.folds)
    if plan.extend_folds is not None:
      folds = plan.extend_folds(prepared)
    tables_ = member_tables(program_config, folds, prepared.subject_N,
                            combos=[{k: plan.combos[c][k] for k in plan.traced}
                                    for c in combo_ids])
    model = build_model(program_config["model"], len(prepared.class_names))
    fns = build_fold_functions(program_config, model, tables_, tuple(prepared.inputs))
    writers = {}
    multilabel = program_config["data"]["task"] == "au"
    for c in combo_ids:
      writers[c, False] = rundir.PredictionWriter(
          os.path.join(plan.combo_dir(c), rundir.PREDICTIONS), prepared.class_names,
          fresh=not rd.resuming, multilabel=multilabel)
      if plan.inner_dir is not None:
        writers[c, True] = rundir.PredictionWriter(
            os.path.join(plan.inner_dir(c), rundir.PREDICTIONS), prepared.class_names,
            fresh=not rd.resuming, multilabel=multilabel)
    ledger.commit([w.path for w in writers.values()])
    records += train_program(
        program_config, prepared, tables_, fns, ledger=ledger, key=str(p),
        fold_names=folds.names,
        route=lambda r, ids=combo_ids, w=writers, n=num_outer: w[ids[r.combo], r.fold >= n],
        checkpoint_dir=os.path.join(rd.path, rundir.CHECKPOINTS, f"program_{p}"), log=log)
  return records, prepared


def failed_members(records: list[dict], predictions: str) -> list[dict]:
  """The failed members' records that write to `predictions` (relative path)."""
  return [m for m in records if m["failed"] and m["predictions"] == predictions]


def describe_failure(m: Mapping) -> str:
  """"seed S fold F (epoch E)" of a failed member record."""
  epoch = m.get("failed_epoch")
  return f"seed {m['seed']} fold {m['fold']}" + (f" (non-finite loss at epoch {epoch})"
                                                 if epoch else "")


def write_history(workdir: str, records: list[dict]) -> None:
  rundir.write_json(os.path.join(workdir, rundir.HISTORY),
                    [{k: m.get(k) for k in ("seed", "fold", "loss", "selected_epoch", "failed",
                                            "failed_epoch")} for m in records])


def paper_size_warning(config: Mapping) -> str | None:
  """A one-line warning when a model with QUICK overrides (merjax/configs/<model>.py) runs
  without them on a CPU, where its paper-size configuration takes hours; None otherwise."""
  from merjax import baselines  # pylint: disable=import-outside-toplevel
  from merjax import config as config_lib  # pylint: disable=import-outside-toplevel
  name = config["model"]["name"]
  if jax.devices()[0].platform != "cpu" or baselines.is_baseline(name):
    return None
  try:
    quick = config_lib.quick_overrides(name)
  except MerjaxError:
    return None
  if config_lib.apply_overrides(config, quick) == config:
    return None
  return (f"warning: the paper-size {name} configuration on a CPU can take hours; "
          f"`--quick` runs its minutes-long version (merjax/configs/{name}.py QUICK)")


def run(config: dict, workdir: str, log=None, restart: bool = False,
        force: bool = False) -> dict:
  """Trains every (seed, fold) member of a validated config and writes the run
  directory; resumes an interrupted run of the same config and inputs in `workdir`.

  Returns the metrics dict written to metrics.json (`failed_folds` lists members
  whose loss turned non-finite).
  """
  from merjax.configs import schema  # pylint: disable=import-outside-toplevel
  log = log or logger.info
  config = pretrained.record_sha256(schema.validate(config))
  warning = paper_size_warning(config)
  if warning:
    log(warning)
  from merjax import baselines  # pylint: disable=import-outside-toplevel
  with rundir.RunDirectory(workdir, config, restart=restart, force=force) as rd:
    if baselines.is_baseline(config["model"]["name"]):   # hand-crafted: no training loop
      from merjax.baselines import run as baseline_run  # pylint: disable=import-outside-toplevel
      records, prepared = baseline_run.run_baseline(config, rd, log)
    else:
      records, prepared = run_plan(config, rd, Plan.single(workdir), log)
    if distributed.is_main():
      write_history(workdir, records)
      metrics = score_run(workdir, config, prepared.class_names,
                          failed_members(records, rundir.PREDICTIONS), prepared.folds.skipped)
    distributed.barrier("scored")      # the other processes read what process 0 wrote
    return metrics if distributed.is_main() else rundir.read_json(rd.file(rundir.METRICS))


def score_run(workdir: str, config: Mapping, class_names, failed: Sequence[Mapping] = (),
              skipped=()) -> dict:
  """Computes metrics.json, results.md and results.csv from predictions.csv;
  failed members are listed in all three."""
  failed_text = [describe_failure(m) for m in failed]
  au_task = config["data"]["task"] == "au"
  try:
    path = os.path.join(workdir, rundir.PREDICTIONS)
    preds = (au_metrics.read_predictions(path) if au_task
             else rundir.read_predictions(path, class_names))
  except MerjaxError:
    if failed:
      raise MerjaxError(f"{workdir}: no predictions (every member failed: "
                        f"{', '.join(failed_text)})") from None
    raise
  metrics = (au_metrics.summarize_predictions(preds) if au_task
             else aggregate.summarize_predictions(preds))
  metrics["selection"] = config["train"]["selection"]["rule"]
  metrics["oracle"] = metrics["selection"] == "oracle"
  metrics["failed_folds"] = failed_text
  metrics["failed_members"] = [{k: m.get(k) for k in ("combo", "seed", "fold", "failed_epoch")}
                               for m in failed]
  metrics["skipped_subjects"] = list(skipped)
  rundir.write_json(os.path.join(workdir, rundir.METRICS), metrics, indent=2)
  title = f"{config['model']['name']} on {config['data']['dataset']}"
  if metrics["oracle"]:
    title += " (ORACLE selection: epoch chosen on the test subject)"
  report = (au_metrics.format_report if au_task else tables.format_report)(metrics, title)
  if failed:
    report += (f"\n**FAILED members ({len(failed)}), not scored**: "
               + "; ".join(failed_text) + "\n")
  rundir.write_text(os.path.join(workdir, rundir.RESULTS_MD), report)
  results_csv = (au_metrics.format_csv(metrics) if au_task
                 else tables.format_csv(metrics, split_std=True)).splitlines()
  results_csv = ([results_csv[0] + ",failed_members"]
                 + [line + f",{len(failed)}" for line in results_csv[1:]])
  rundir.write_text(os.path.join(workdir, rundir.RESULTS_CSV), "\n".join(results_csv) + "\n")
  return metrics
