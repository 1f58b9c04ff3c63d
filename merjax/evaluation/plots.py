"""Figures of a run directory (matplotlib, Agg canvas; no pyplot state).

plot_run(workdir, out_dir) writes:
  confusion.png         pooled confusion matrix: counts and row-normalised
  subject_accuracy.png  per-subject accuracy (mean over seeds) with clip counts
  loss.png              per-epoch training loss of every (seed, fold), from history.json
  seed_metrics.png      pooled UF1 / UAR of each seed, mean +- std, bootstrap CI
                        (only with several seeds)
  diagnostic_test_metrics.png  per-epoch test-subject metrics, only if history.json
                        records `test_<metric>` lists; labelled as a diagnostic
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from merjax.errors import MerjaxError
from merjax.evaluation import stats

DPI = 100


def _save(fig: Figure, path: str) -> str:
  FigureCanvasAgg(fig)
  fig.savefig(path, dpi=DPI)
  return path


def plot_confusion(confusion_KK: np.ndarray, class_names: Sequence[str], path: str,
                   title: str = "Pooled confusion") -> str:
  """Counts and row-normalised panels of a K x K confusion (rows true)."""
  cm = np.asarray(confusion_KK, np.int64)
  k = cm.shape[0]
  rows = cm.sum(1, keepdims=True)
  norm = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
  size = max(3.2, 0.6 * k + 1.6)
  fig = Figure(figsize=(2 * size + 0.6, size + 0.6), layout="constrained")
  for ax, data, fmt, sub in zip(fig.subplots(1, 2), (cm, norm), ("{:d}", "{:.2f}"),
                                ("counts", "row-normalised (recall on the diagonal)")):
    im = ax.imshow(data, cmap="Blues", vmin=0, vmax=max(1, data.max()))
    ax.set_title(sub, fontsize=9)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
      for j in range(k):
        v = data[i, j]
        ax.text(j, i, fmt.format(int(v) if fmt == "{:d}" else v), ha="center",
                va="center", fontsize=7,
                color="white" if v > 0.6 * max(1, data.max()) else "black")
    fig.colorbar(im, ax=ax, shrink=0.8)
  fig.suptitle(title, fontsize=10)
  return _save(fig, path)


def plot_subject_accuracy(subjects: Sequence[str], acc_J, n_J, path: str,
                          std_J=None, pooled_acc: float | None = None,
                          title: str = "Per-subject accuracy") -> str:
  """Bars of accuracy per subject (J,), clip count n above each bar."""
  acc = np.asarray(acc_J, np.float64)
  x = np.arange(len(subjects))
  prefix = os.path.commonprefix([str(s) for s in subjects])
  prefix = prefix[:prefix.rfind("/") + 1]
  fig = Figure(figsize=(max(5.0, 0.3 * len(subjects) + 2), 3.8), layout="constrained")
  ax = fig.subplots()
  ax.bar(x, acc, color="tab:blue", yerr=std_J, capsize=2 if std_J is not None else 0,
         error_kw={"lw": 0.8})
  if pooled_acc is not None:
    ax.axhline(pooled_acc, color="tab:red", ls="--", lw=1,
               label=f"pooled acc {pooled_acc:.3f}")
    ax.legend(fontsize=8, loc="upper right")
  ax.set_xticks(x, [f"{str(s)[len(prefix):]} (n={n})" for s, n in zip(subjects, n_J)],
                rotation=90, fontsize=7)
  ax.set_ylim(0, 1.05)
  ax.set_ylabel("accuracy")
  ax.set_xlabel(f"{prefix}subject (n = clips)" if prefix else "subject (n = clips)",
                fontsize=8)
  ax.set_title(title, fontsize=10)
  return _save(fig, path)


def plot_loss(history: Sequence[dict], path: str,
              title: str = "Training loss per fold") -> str:
  """Per-epoch training loss of each (seed, fold) member, their mean, and each
  member's selected epoch (dot). Failed members are left out (counted in the title).
  """
  ok = [h for h in history if not h.get("failed") and h.get("loss")]
  if not ok:
    raise MerjaxError("history: no member with a loss history")
  fig = Figure(figsize=(6, 3.8), layout="constrained")
  ax = fig.subplots()
  seeds = sorted({str(h.get("seed")) for h in ok}, key=stats.natural_key)
  colors = {s: f"C{i % 10}" for i, s in enumerate(seeds)}
  for h in ok:
    loss = np.asarray(h["loss"], np.float64)
    epochs = np.arange(1, loss.size + 1)
    c = colors[str(h.get("seed"))]
    ax.plot(epochs, loss, color=c, lw=0.7, alpha=0.5)
    sel = h.get("selected_epoch")
    if sel is not None and 1 <= sel <= loss.size:
      ax.plot(sel, loss[sel - 1], "o", color=c, ms=3)
  length = min(len(h["loss"]) for h in ok)
  mean = np.mean([h["loss"][:length] for h in ok], axis=0)
  ax.plot(np.arange(1, length + 1), mean, color="black", lw=2, label="mean over members")
  for s in seeds:
    ax.plot([], [], color=colors[s], label=f"seed {s}")
  ax.plot([], [], "o", color="gray", ms=3, label="selected epoch")
  failed = len(history) - len(ok)
  ax.set_title(title + (f" ({failed} failed member(s) left out)" if failed else "")
               + f"\n{len(ok)} members (seed x fold)", fontsize=10)
  ax.set_xlabel("epoch")
  ax.xaxis.set_major_locator(MaxNLocator(integer=True))
  ax.set_ylabel("training loss")
  fig.legend(fontsize=7, loc="outside right upper")
  return _save(fig, path)


def plot_seed_metrics(values: dict[str, Sequence[float]], path: str, n_boot: int = 2000,
                      confidence: float = 0.95, seed: int = 0,
                      title: str = "Pooled metric per seed") -> str:
  """One column per metric ({name: per-seed values}): seeds as dots, mean +- std
  (bar) and the percentile bootstrap CI of the mean over seeds (bracket)."""
  fig = Figure(figsize=(1.8 * len(values) + 2.2, 3.6), layout="constrained")
  ax = fig.subplots()
  pct = round(100 * confidence)
  for i, (name, v) in enumerate(values.items()):
    s = stats.seed_summary(v, confidence, n_boot, seed)
    ax.plot(np.full(s["n"], i) + np.linspace(-0.08, 0.08, s["n"]), s["values"], "o",
            color="tab:blue", alpha=0.7, label="seed" if i == 0 else None)
    ax.errorbar(i + 0.25, s["mean"], yerr=s["std"] or 0, fmt="s", color="black",
                capsize=4, label="mean ± std" if i == 0 else None)
    if s["ci_low"] is not None:
      ax.vlines(i + 0.35, s["ci_low"], s["ci_high"], color="tab:red", lw=2,
                label=f"{pct}% bootstrap CI of the mean" if i == 0 else None)
    ax.annotate(f"{s['mean']:.3f} ± {s['std'] or 0:.3f}", (i + 0.25, s["mean"]),
                xytext=(6, 0), textcoords="offset points", fontsize=7, va="center")
  ax.set_xticks(range(len(values)), [k.upper() for k in values])
  ax.set_xlim(-0.5, len(values) - 0.2)
  ax.set_ylabel("pooled value")
  ax.set_title(f"{title} ({len(next(iter(values.values())))} seeds)", fontsize=10)
  ax.legend(fontsize=7)
  return _save(fig, path)


def plot_test_diagnostic(history: Sequence[dict], path: str) -> str | None:
  """Per-epoch `test_<metric>` curves, if recorded; labelled as a diagnostic."""
  keys = sorted({k for h in history for k, v in h.items()
                 if k.startswith("test_") and isinstance(v, list) and v})
  if not keys:
    return None
  fig = Figure(figsize=(3.2 * len(keys) + 1, 3.6), layout="constrained")
  axes = np.atleast_1d(fig.subplots(1, len(keys)))
  for ax, key in zip(axes, keys):
    for h in history:
      if isinstance(h.get(key), list) and h[key]:
        ax.plot(np.arange(1, len(h[key]) + 1), h[key], lw=0.7, alpha=0.6)
    ax.set_title(key, fontsize=9)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
  fig.suptitle("DIAGNOSTIC ONLY: per-epoch metrics on the held-out test subject "
               "(never for model or epoch selection)", fontsize=9, color="tab:red")
  return _save(fig, path)


def _read_history(workdir: str) -> list[dict] | None:
  path = os.path.join(workdir, "history.json")
  if not os.path.isfile(path):
    return None
  try:
    with open(path) as f:
      history = json.load(f)
  except (OSError, ValueError) as e:
    raise MerjaxError(f"{path}: cannot read: {e}") from None
  if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
    raise MerjaxError(f"{path}: expected a list of {{seed, fold, loss, ...}} objects")
  return history


def run_figure_data(workdir: str) -> dict:
  """The numbers the figures of a run show.

  {name, class_names, seeds, subjects, confusion (K, K) summed over seeds,
  subject_acc (S, J), subject_n (J,) clips per seed, pooled_acc (mean over
  seeds), seed_values {uf1, uar: [per-seed pooled]}, history (list | None)}.
  """
  if not os.path.isdir(workdir):
    raise MerjaxError(f"{workdir}: not a run directory")
  run = stats.load_run(workdir)
  conf_SJKK = stats.subject_confusions(run)
  return {
      "name": os.path.basename(os.path.normpath(workdir)),
      "class_names": list(run.class_names), "seeds": run.seeds,
      "subjects": run.subjects,
      "confusion": conf_SJKK.sum((0, 1)),
      "subject_acc": stats.batch_metrics(conf_SJKK)["acc"],
      "subject_n": conf_SJKK[0].sum((-1, -2)),
      "pooled_acc": stats.pooled_metrics(run)["acc"],
      "seed_values": {m: list(stats.seed_pooled_values(run, m).values())
                      for m in ("uf1", "uar")},
      "history": _read_history(workdir),
  }


def plot_run(workdir: str, out_dir: str | None = None, n_boot: int = 2000,
             seed: int = 0) -> list[str]:
  """Writes the figures of a run directory into out_dir (default
  workdir/figures); returns the paths written."""
  d = run_figure_data(workdir)
  out_dir = out_dir or os.path.join(workdir, "figures")
  os.makedirs(out_dir, exist_ok=True)
  name, n_seeds = d["name"], len(d["seeds"])
  paths = [plot_confusion(
      d["confusion"], d["class_names"], os.path.join(out_dir, "confusion.png"),
      f"{name}: pooled confusion" + (f", summed over {n_seeds} seeds"
                                     if n_seeds > 1 else ""))]
  acc_SJ = d["subject_acc"]
  paths.append(plot_subject_accuracy(
      d["subjects"], acc_SJ.mean(0), d["subject_n"].tolist(),
      os.path.join(out_dir, "subject_accuracy.png"),
      std_J=acc_SJ.std(0, ddof=1) if n_seeds > 1 else None,
      pooled_acc=d["pooled_acc"],
      title=f"{name}: per-subject accuracy" + (
          f"\nmean ± std over {n_seeds} seeds; n = clips per seed"
          if n_seeds > 1 else "")))
  history = d["history"]
  if history:
    paths.append(plot_loss(history, os.path.join(out_dir, "loss.png"),
                           f"{name}: training loss per fold"))
    diag = plot_test_diagnostic(history, os.path.join(
        out_dir, "diagnostic_test_metrics.png"))
    if diag:
      paths.append(diag)
  if n_seeds > 1:
    paths.append(plot_seed_metrics(d["seed_values"],
                                   os.path.join(out_dir, "seed_metrics.png"),
                                   n_boot=n_boot, seed=seed,
                                   title=f"{name}: pooled metrics per seed"))
  return paths
