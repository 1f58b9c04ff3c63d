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

import copy
import csv
import itertools
import json
import os
import sys
from typing import Mapping

import numpy as np

from merjax import config as config_lib
from merjax import experiment
from merjax.data import protocols
from merjax.errors import MerjaxError
from merjax.evaluation import metrics as metrics_lib
from merjax.models.registry import build_model
from merjax.training import hparams as hparams_lib
from merjax.training import optim
from merjax.training import trainer as trainer_lib

TABLE_METRICS = ("uf1", "uar", "acc")
SWEEP_DEFAULTS = {"grid": {}, "select": "none", "inner_folds": 0, "select_metric": "uf1"}


def parse_grid(items) -> dict[str, list]:
  """{"a.b": [v1, v2]} from "grid.a.b=v1,v2" strings (comma-separated scalars)."""
  grid = {}
  for item in items:
    key, _, text = item.partition("=")
    if not key.startswith("grid.") or not text:
      raise MerjaxError(f"grid override '{item}' is not grid.<key>=v1,v2,...")
    grid[config_lib.canonical_key(key[len("grid."):])] = [
        config_lib.parse_value(v) for v in text.split(",")]
  return grid


def combinations(grid: Mapping[str, list]) -> list[dict]:
  """Every combination of the grid's values, the first key varying slowest."""
  keys = list(grid)
  return [dict(zip(keys, values)) for values in itertools.product(*grid.values())]


def with_values(config: Mapping, values: Mapping) -> dict:
  """A copy of config with each dotted key set (the sweep section dropped)."""
  out = copy.deepcopy({k: v for k, v in config.items() if k != "sweep"})
  for key, value in values.items():
    config_lib.set_path(out, key, value)
  return out


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


def run_sweep(config: dict, workdir: str, log=None, restart: bool = False) -> dict:
  """Trains every combination x seed x fold of config["sweep"]["grid"] and
  writes the sweep directory; resumes an interrupted sweep of the same config.
  Returns the sweep summary (sweep.json)."""
  log = log or (lambda s: print(s, file=sys.stderr, flush=True))
  sweep = {**SWEEP_DEFAULTS, **config.get("sweep", {})}
  if sweep["select"] not in ("none", "nested"):
    raise MerjaxError(f"sweep.select must be 'none' or 'nested', got {sweep['select']!r}")
  combos = combinations(sweep["grid"])
  traced, structural, programs = plan(config, combos)
  resuming = experiment.start_workdir(workdir, config, restart, log)
  ledger = experiment.Ledger(workdir, fresh=not resuming)
  if resuming:
    log(f"resuming the interrupted sweep in {workdir}")
    ledger.cut_partial_rows()
  nested = sweep["select"] == "nested"
  train = config["train"]
  seeds = [int(train.get("seed", 0)) + i for i in range(int(train.get("seeds", 1)))]
  selection = train["selection"]
  prepared = None
  records = []
  for p, combo_ids in enumerate(programs):
    program_config = with_values(config, {k: combos[combo_ids[0]][k] for k in structural})
    prepared = experiment.prepare_data(program_config, log)
    folds = prepared.folds
    num_outer = len(folds)
    if nested:
      folds = _concat_folds(folds, inner_folds(folds, prepared.subject_N,
                                               int(sweep["inner_folds"])))
    tables_ = trainer_lib.member_tables(
        folds, seeds, prepared.subject_N, selection=selection["rule"],
        val_subjects=int(selection.get("val_subjects", 1)),
        combos=[{k: combos[c][k] for k in traced} for c in combo_ids])
    if p == 0:
      log(f"grid: {len(combos)} combination(s) x {len(seeds)} seed(s) x {num_outer} folds"
          + (f" (+ {len(folds) - num_outer} inner folds)" if nested else "")
          + f" in {len(programs)} compiled program(s); traced per member: "
          f"{', '.join(traced) or 'none'}; structural: {', '.join(structural) or 'none'}")
    model = build_model(program_config["model"], len(prepared.class_names))
    fns = experiment.build_fold_functions(program_config, model, tables_, tuple(prepared.inputs))
    writers = {}
    for c in combo_ids:
      combo_dir = os.path.join(workdir, _combo_name(c))
      os.makedirs(combo_dir, exist_ok=True)
      if not resuming:
        with open(os.path.join(combo_dir, "config.json"), "w") as f:
          json.dump(combo_config(config, combos, c), f, indent=2, sort_keys=True)
      writers[c, False] = experiment.PredictionWriter(
          os.path.join(combo_dir, "predictions.csv"), prepared, folds.names, fresh=not resuming)
      if nested:
        os.makedirs(os.path.join(workdir, "inner", _combo_name(c)), exist_ok=True)
        writers[c, True] = experiment.PredictionWriter(
            os.path.join(workdir, "inner", _combo_name(c), "predictions.csv"), prepared,
            folds.names, fresh=not resuming)
    ledger.commit([w.path for w in writers.values()])
    records += experiment.train_program(
        program_config, prepared, tables_, fns, ledger=ledger, key=str(p),
        fold_names=folds.names,
        route=lambda r, ids=combo_ids, w=writers, n=num_outer: w[ids[r.combo], r.fold >= n],
        checkpoint_dir=os.path.join(workdir, "checkpoints", f"program_{p}"), log=log)
  rows = []
  for c in range(len(combos)):
    combo_dir = os.path.join(workdir, _combo_name(c))
    mine = [m for m in records if m["predictions"] == os.path.join(_combo_name(c),
                                                                    "predictions.csv")]
    experiment.write_history(combo_dir, mine)
    metrics = experiment.score_run(
        combo_dir, combo_config(config, combos, c), prepared.class_names,
        experiment.failed_members(records, os.path.join(_combo_name(c), "predictions.csv")),
        prepared.folds.skipped)
    rows.append({"combo": c, "name": _combo_name(c), "values": combos[c], "metrics": metrics})
  summary = {"programs": len(programs), "traced": traced, "structural": structural,
             "seeds": seeds, "rows": rows}
  if nested:
    summary["nested"] = select_nested(workdir, config, combos, prepared.class_names,
                                      sweep["select_metric"])
  write_sweep_table(workdir, config, summary)
  return summary


def combo_config(config: Mapping, combos: list[dict], c: int) -> dict:
  """The full config of combination c (its values applied), as its run directory records it."""
  out = with_values(config, combos[c])
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
  nested_config = with_values(config, {})
  nested_config["sweep_selection"] = {"rule": "nested", "metric": metric,
                                      "inner_folds": config["sweep"].get("inner_folds", 0)}
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
  columns = [(agg, m) for agg in ("pooled", "fold_mean") for m in TABLE_METRICS]
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
    cells = [_cell(*_mean_std(m, agg, metric)) for agg, metric in columns]
    lines.append(f"| {row['name']} | " + " | ".join(str(row["values"][k]) for k in keys)
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
  if summary["rows"]:
    best = max(summary["rows"], key=lambda r: r["metrics"]["pooled"]["uf1"])
    lines += ["", f"ORACLE (chosen on the outer test subjects; for reference, not a result): "
              f"{best['name']} {best['values']} has the best pooled UF1 "
              f"{best['metrics']['pooled']['uf1']:.4f}."]
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
                          | {"pooled": r["metrics"]["pooled"],
                             "pooled_std": r["metrics"].get("pooled_std"),
                             "fold_mean": r["metrics"]["fold_mean"],
                             "fold_mean_std": r["metrics"].get("fold_mean_std")}
                          for r in summary["rows"]]}, f, indent=2, default=str)
  return text
