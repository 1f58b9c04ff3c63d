"""Hyperparameter x seed x fold sweeps in as few compiled programs as the grid allows.

config["sweep"] = {
    "grid": {dotted key: [values]},   # every combination is trained
    "select": "none" | "nested",      # nested: choose a combination per outer fold by
                                      #   inner LOSO over its training subjects
    "inner_folds": 0,                 # nested: 0 = one inner fold per training subject, k = k groups
    "select_metric": "uf1",           # nested: pooled inner metric to maximise
}
Keys whose values are numbers that change no shape (merjax/training/hparams.py)
are traced per member, so combinations that differ only in them share one
program; every other key ("structural") makes a program of its own.

The sweep directory holds config.json, progress.json, checkpoints/, one run
directory per combination (combo_NNN/: config.json with that combination's
values, predictions.csv, metrics.json, results.md, history.json), with nested
selection inner/combo_NNN/predictions.csv and nested/ (a run directory of the
selected combinations' outer predictions, plus selection.json), and the sweep
table sweep.md / sweep.csv / sweep.json.
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
import os
from collections.abc import Mapping

import numpy as np

from merjax import config as config_lib
from merjax.configs import schema
from merjax import distributed, experiment, rundir
from merjax.data import protocols
from merjax.errors import MerjaxError
from merjax.evaluation import metrics as metrics_lib
from merjax.models.registry import build_model
from merjax.models.weights import pretrained
from merjax.training import hparams as hparams_lib
from merjax.training import optim

logger = logging.getLogger(__name__)

TABLE_METRICS = ("uf1", "uar", "acc")
AU_TABLE_METRICS = ("mean_f1",)      # data.task=au (merjax/evaluation/au_metrics.py)


def parse_grid(items) -> dict[str, list]:
  """{"a.b": [v1, v2]} from "grid.a.b=v1,v2" strings (comma-separated scalars)."""
  grid = {}
  for item in items:
    key, _, text = item.partition("=")
    if not key.startswith("grid.") or not text:
      raise MerjaxError(f"grid override '{item}' is not grid.<key>=v1,v2,...")
    dotted = config_lib.canonical_key(key[len("grid."):])
    try:
      schema.lookup(dotted)
    except MerjaxError as e:
      raise MerjaxError(f"grid.{e}") from None
    grid[dotted] = [
        config_lib.parse_value(v) for v in text.split(",")]
  return grid


def combinations(grid: Mapping[str, list]) -> list[dict]:
  """Every combination of the grid's values, the first key varying slowest."""
  keys = list(grid)
  return [dict(zip(keys, values)) for values in itertools.product(*grid.values())]


def plan(config: Mapping, combos: list[dict]) -> tuple[list[str], list[str], list[list[int]]]:
  """(traced keys, structural keys, programs): each program is the list of
  combination indices that share its structural values."""
  if not combos or not combos[0]:
    return [], [], [list(range(len(combos)))]
  keys = list(combos[0])
  model = build_model(config["model"], 2)
  traced = [k for k in keys
            if hparams_lib.is_traceable(k, [c[k] for c in combos], config, model)]
  structural = [k for k in keys if k not in traced]
  programs: dict[tuple, list[int]] = {}
  for i, combo in enumerate(combos):
    programs.setdefault(tuple(repr(combo[k]) for k in structural), []).append(i)
  for k in traced:
    if k.startswith(hparams_lib.OPTIMIZER):
      try:
        optim.make_optimizer({**config["train"]["optimizer"], k.split(".")[-1]: combos[0][k]})
      except TypeError:
        raise MerjaxError(f"sweep key {k}: optimizer '{config['train']['optimizer']['name']}' "
                          f"has no such hyperparameter") from None
  return traced, structural, list(programs.values())


def inner_folds(folds: protocols.Folds, subject_N, k: int = 0) -> protocols.Folds:
  """Inner folds over each outer fold's training subjects: leave one training
  subject out (k = 0) or k groups of them (round robin in sorted order),
  named "<outer fold>|<held-out subject or group>"."""
  subject_N = np.asarray(subject_N)
  names, train, test = [], [], []
  for f, outer in enumerate(folds.names):
    subjects = sorted(set(subject_N[folds.train_FxN[f]].tolist()))
    if len(subjects) < 2:
      raise MerjaxError(f"nested selection: outer fold {outer} has {len(subjects)} training "
                        f"subject(s); it needs at least 2")
    groups = ([[s] for s in subjects] if k <= 0 else
              [subjects[j::k] for j in range(min(k, len(subjects)))])
    for j, group in enumerate(groups):
      held_N = folds.train_FxN[f] & np.isin(subject_N, group)
      names.append(f"{outer}|{group[0] if k <= 0 else f'inner{j}'}")
      train.append(folds.train_FxN[f] & ~held_N)
      test.append(held_N)
  return protocols.Folds(tuple(names), np.asarray(train), np.asarray(test), "nested_inner")


def _concat_folds(a: protocols.Folds, b: protocols.Folds) -> protocols.Folds:
  return protocols.Folds(a.names + b.names, np.concatenate([a.train_FxN, b.train_FxN]),
                         np.concatenate([a.test_FxN, b.test_FxN]), a.kind, a.skipped)


def _combo_name(i: int) -> str:
  return f"combo_{i:03d}"


def run_sweep(config: dict, workdir: str, log=None, restart: bool = False,
              force: bool = False) -> dict:
  """Trains every combination x seed x fold of config["sweep"]["grid"] and
  writes the sweep directory; resumes an interrupted sweep of the same config.
  Returns the sweep summary (sweep.json)."""
  log = log or logger.info
  config = pretrained.record_sha256(schema.validate(config))
  sweep = config["sweep"]
  combos = combinations(sweep["grid"])
  for combo in combos:                 # every combination is a valid config
    schema.validate(experiment.with_values(config, combo))
  traced, structural, programs = plan(config, combos)
  nested = sweep["select"] == "nested"
  seeds = experiment.seeds_of(config)
  with rundir.RunDirectory(workdir, config, kind="sweep", restart=restart, force=force) as rd:
    for c in range(len(combos) if distributed.is_main() else 0):   # process 0 writes
      os.makedirs(os.path.join(workdir, _combo_name(c)), exist_ok=True)
      if nested:
        os.makedirs(os.path.join(workdir, "inner", _combo_name(c)), exist_ok=True)
      if not rd.resuming:
        rundir.write_json(os.path.join(workdir, _combo_name(c), rundir.CONFIG),
                          combo_config(config, combos, c), indent=2, sort_keys=True)
    log(f"grid: {len(combos)} combination(s) x {len(seeds)} seed(s) in {len(programs)} "
        f"compiled program(s); traced per member: {', '.join(traced) or 'none'}; "
        f"structural: {', '.join(structural) or 'none'}"
        + ("; nested selection by inner LOSO" if nested else ""))
    the_plan = experiment.Plan(
        combos, programs, traced, structural,
        combo_dir=lambda c: os.path.join(workdir, _combo_name(c)),
        extend_folds=(lambda prepared: _concat_folds(prepared.folds, inner_folds(
            prepared.folds, prepared.subject_N, sweep["inner_folds"]))) if nested else None,
        inner_dir=(lambda c: os.path.join(workdir, "inner", _combo_name(c))) if nested else None)
    records, prepared = experiment.run_plan(config, rd, the_plan, log)
    if not distributed.is_main():      # process 0 scores; the others read its summary
      distributed.barrier("scored")
      return rundir.read_json(os.path.join(workdir, "sweep.json"))
    rows = []
    for c in range(len(combos)):
      combo_dir = os.path.join(workdir, _combo_name(c))
      predictions = os.path.join(_combo_name(c), rundir.PREDICTIONS)
      mine = [m for m in records if m["predictions"] == predictions]
      experiment.write_history(combo_dir, mine)
      failed = experiment.failed_members(records, predictions)
      try:
        metrics = experiment.score_run(combo_dir, combo_config(config, combos, c),
                                       prepared.class_names, failed, prepared.folds.skipped)
      except MerjaxError as e:         # every member of this combination failed
        log(f"combination {c}: {e}")
        metrics = None
      rows.append({"combo": c, "name": _combo_name(c), "values": combos[c], "metrics": metrics,
                   "failed": [experiment.describe_failure(m) for m in failed]})
    summary = {"programs": len(programs), "traced": traced, "structural": structural,
               "seeds": seeds, "rows": rows}
    if nested:
      summary["nested"] = select_nested(workdir, config, combos, prepared.class_names,
                                        sweep["select_metric"])
    write_sweep_table(workdir, config, summary)
    distributed.barrier("scored")
  return summary


def combo_config(config: Mapping, combos: list[dict], c: int) -> dict:
  """The full config of combination c (its values applied), as its run directory records it."""
  out = experiment.with_values(config, combos[c])
  out["sweep_combination"] = {"index": c, "values": combos[c]}
  return out


def _rows(path: str) -> list[dict]:
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


def select_nested(workdir: str, config: Mapping, combos: list[dict], class_names,
                  metric: str) -> dict:
  """Chooses, per (outer fold, seed), the combination with the best pooled
  inner metric over that outer fold's inner folds (ties: the first), and
  writes nested/ from the chosen combinations' outer predictions. The outer
  test subject is never looked at."""
  scores: dict[tuple[str, str], list[float]] = {}
  index = {name: i for i, name in enumerate(class_names)}
  for c in range(len(combos)):
    rows = _rows(os.path.join(workdir, "inner", _combo_name(c), "predictions.csv"))
    by_key: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
      outer = r["fold"].split("|", 1)[0]
      by_key.setdefault((outer, r["seed"]), []).append(r)
    for key, group in by_key.items():
      label = np.asarray([index[r["label"]] for r in group])
      pred = np.asarray([index[r["pred"]] for r in group])
      m = metrics_lib.classification_metrics(label, pred, len(class_names))
      scores.setdefault(key, [float("-inf")] * len(combos))[c] = float(m[metric])
  chosen = {key: int(np.argmax(values)) for key, values in scores.items()}
  nested_dir = os.path.join(workdir, "nested")
  os.makedirs(nested_dir, exist_ok=True)
  header = None
  out_rows = []
  for c in range(len(combos)):
    path = os.path.join(workdir, _combo_name(c), "predictions.csv")
    with open(path, newline="") as f:
      reader = csv.reader(f)
      header = next(reader)
      fold_col, seed_col = header.index("fold"), header.index("seed")
      out_rows += [r for r in reader if chosen.get((r[fold_col], r[seed_col])) == c]
  with open(os.path.join(nested_dir, "predictions.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows(out_rows)
  selection = {f"{outer}/seed{seed}": {"combo": c, "values": combos[c],
                                       f"inner_{metric}": scores[outer, seed]}
               for (outer, seed), c in sorted(chosen.items())}
  with open(os.path.join(nested_dir, "selection.json"), "w") as f:
    json.dump(selection, f, indent=2)
  nested_config = experiment.with_values(config, {})
  nested_config["sweep_selection"] = {"rule": "nested", "metric": metric,
                                      "inner_folds": config["sweep"]["inner_folds"]}
  with open(os.path.join(nested_dir, "config.json"), "w") as f:
    json.dump(nested_config, f, indent=2, sort_keys=True)
  metrics = experiment.score_run(nested_dir, nested_config, class_names)
  return {"metrics": metrics, "selection": selection}


def _mean_std(metrics: Mapping, aggregation: str, metric: str) -> tuple[float, float | None]:
  std = metrics.get(f"{aggregation}_std") or {}
  return metrics[aggregation][metric], std.get(metric)


def _cell(mean: float, std: float | None) -> str:
  return f"{mean:.4f}" if std is None else f"{mean:.4f} ± {std:.4f}"


def write_sweep_table(workdir: str, config: Mapping, summary: dict) -> str:
  """sweep.md (mean ± std over seeds per combination), sweep.csv (with the
  per-seed values) and sweep.json; returns the Markdown."""
  keys = list(summary["rows"][0]["values"]) if summary["rows"] else []
  table_metrics = AU_TABLE_METRICS if config["data"]["task"] == "au" else TABLE_METRICS
  columns = [(agg, m) for agg in ("pooled", "fold_mean") for m in table_metrics]
  title = f"Sweep: {config['model']['name']} on {config['data']['dataset']}"
  n_seeds = len(summary["seeds"])
  lines = [f"## {title}", "",
           f"{len(summary['rows'])} combinations x {n_seeds} seed(s), "
           f"{summary['programs']} compiled program(s); mean ± std (ddof=1) over seeds.", "",
           "| combination | " + " | ".join(keys) + " | "
           + " | ".join(f"{agg.replace('_', '-')} {m.upper()}" for agg, m in columns) + " |",
           "|---|" + "---|" * len(keys) + "---:|" * len(columns)]
  csv_header = (["combination"] + keys
                + [f"{agg}_{m}{suffix}" for agg, m in columns for suffix in ("", "_std")]
                + [f"{agg}_{m}_seed{s}" for agg, m in columns for s in summary["seeds"]])
  csv_rows = []
  for row in summary["rows"]:
    m = row["metrics"]
    name = row["name"] + (f" (FAILED: {len(row['failed'])} member(s))" if row["failed"] else "")
    if m is None:                      # every member of the combination diverged
      lines.append(f"| {name} | " + " | ".join(str(row["values"][k]) for k in keys)
                   + " | " + " | ".join("FAILED" for _ in columns) + " |")
      csv_rows.append([row["name"]] + [row["values"][k] for k in keys]
                      + ["FAILED"] * (len(csv_header) - 1 - len(keys)))
      continue
    cells = [_cell(*_mean_std(m, agg, metric)) for agg, metric in columns]
    lines.append(f"| {name} | " + " | ".join(str(row["values"][k]) for k in keys)
                 + " | " + " | ".join(cells) + " |")
    per_seed = m.get("seeds") or {str(summary["seeds"][0]): m}
    csv_rows.append([row["name"]] + [row["values"][k] for k in keys]
                    + [v for agg, metric in columns for v in _mean_std(m, agg, metric)]
                    + [per_seed[str(s)][agg][metric] for agg, metric in columns
                       for s in summary["seeds"]])
  if "nested" in summary:
    m = summary["nested"]["metrics"]
    lines.append("| nested LOSO selection | " + " | ".join("(per fold)" for _ in keys) + " | "
                 + " | ".join(_cell(*_mean_std(m, agg, metric)) for agg, metric in columns)
                 + " |")
  failed = [f"{r['name']}: {'; '.join(r['failed'])}" for r in summary["rows"] if r["failed"]]
  if failed:
    lines += ["", "**FAILED members** (non-finite loss; not scored): " + " | ".join(failed)]
  scored = [r for r in summary["rows"] if r["metrics"] is not None]
  if scored:
    first = table_metrics[0]
    best = max(scored, key=lambda r: r["metrics"]["pooled"][first] or 0.0)
    lines += ["", f"ORACLE (chosen on the outer test subjects; for reference, not a result): "
              f"{best['name']} {best['values']} has the best pooled "
              f"{'mean AU F1' if first == 'mean_f1' else 'UF1'} "
              f"{best['metrics']['pooled'][first]:.4f}."]
    if "nested" not in summary:
      lines.append("No honest choice of combination was made: run with sweep.select=nested "
                   "(--select nested) to choose one per outer fold by inner LOSO.")
  text = "\n".join(lines) + "\n"
  with open(os.path.join(workdir, "sweep.md"), "w") as f:
    f.write(text)
  with open(os.path.join(workdir, "sweep.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(csv_header)
    writer.writerows(csv_rows)
  with open(os.path.join(workdir, "sweep.json"), "w") as f:
    json.dump({k: v for k, v in summary.items() if k != "rows"}
              | {"rows": [{k: r[k] for k in ("combo", "name", "values")}
                          | {"failed": r["failed"]}
                          | ({"pooled": r["metrics"]["pooled"],
                              "pooled_std": r["metrics"].get("pooled_std"),
                              "fold_mean": r["metrics"]["fold_mean"],
                              "fold_mean_std": r["metrics"].get("fold_mean_std")}
                             if r["metrics"] is not None else {})
                          for r in summary["rows"]]}, f, indent=2, default=str)
  return text
