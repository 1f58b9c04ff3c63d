"""FDP's dynamic images: sampled frames, ground-truth DI and constructed DI, and Table 14's MSE.

  python -m experiments.show_fdp [--run DIR | --model fdp] [--dataset NAME] [--clips 4]
      [--out fdp_di.png] [--tiny] [key=value ...]
  python -m experiments.show_fdp --table 14 [--tiny] [key=value ...]

Every LOSO fold of the config is trained through the run core (a run directory in
--workdir), or `--run DIR` reuses a finished run's saved fold models; each test clip is shown
with the model of the fold that held it out. `--tiny` trains the seconds-long configuration of
merjax/configs/fdp.py (TINY) on the synthetic dataset.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from merjax import cli, experiment, paper_tables, predict, rundir
from merjax import config as config_lib
from merjax.configs import schema
from merjax.errors import MerjaxError
from merjax.models.registry import build_model
from merjax.training.fdp_losses import target_dynamic_image


def train_and_construct(config: dict, workdir: str, log=print) -> dict:
  """Trains every LOSO fold of `config` through the run core into `workdir` (or reuses the
  finished run there) and returns, per clip (N), the frames N x T x H x W x C, target DI
  N x H x W, constructed DI N x H x W (by the first seed's model of the clip's held-out
  fold), the logits' argmax, labels and class names."""
  config = schema.validate(config)
  experiment.run(config, workdir, log=log)
  prepared = experiment.prepare_data(config, log)
  tables = experiment.member_tables(config, prepared.folds, prepared.subject_N)
  model = build_model(config["model"], len(prepared.class_names))
  fns = experiment.build_fold_functions(config, model, tables, tuple(prepared.inputs))
  data = jax.tree.map(jnp.asarray, prepared.data())
  frames = prepared.inputs["frames"]
  if frames.ndim == 6:                 # fdp_offsets windows N x T x M x H x W x C: offset 0
    frames = frames[:, :, 0]
  n = len(frames)
  di_true, di_pred = np.zeros((2, n) + frames.shape[2:4], np.float32)
  pred = np.zeros(n, np.int64)

  @jax.jit
  def construct(variables, norm, idx_B):
    batch = fns._gather(data, idx_B, norm)  # pylint: disable=protected-access
    out = model.apply(variables, batch, train=False)
    if "dynamic_image" not in out:
      raise MerjaxError("show_fdp: the model returns no dynamic_image (use_dic=false?)")
    return (target_dynamic_image(batch["frames"])[..., 0], out["dynamic_image"][..., 0],
            jnp.argmax(out["logits"], -1))

  first_seed = config["train"]["seed"]
  for record, state in predict.trained_members(workdir):
    if record["seed"] != first_seed:
      continue
    idx = np.flatnonzero(prepared.folds.test_FxN[prepared.folds.names.index(record["fold"])])
    variables = predict.selected_variables(state, config["train"]["selection"]["rule"])
    t, p, y = construct(variables, state["norm"], jnp.asarray(idx))
    di_true[idx], di_pred[idx], pred[idx] = np.asarray(t), np.asarray(p), np.asarray(y)
  return {"frames": frames, "di_true": di_true, "di_pred": di_pred, "pred": pred,
          "label": prepared.y_N, "class_names": prepared.class_names,
          "clips": [c.clip_id for c in prepared.clips]}


def average_mse(result: dict) -> float:
  """Table 14's Average MSE: mean over clips of the pixel MSE between constructed and target DI."""
  return float(np.mean((result["di_pred"] - result["di_true"]) ** 2))


def plot(result: dict, path: str, clips: int = 4) -> str:
  """One row per test clip: its T frames, the target DI and the constructed DI (PNG)."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  frames = result["frames"]
  k, t = min(clips, len(frames)), frames.shape[1]
  fig, axes = plt.subplots(k, t + 2, figsize=(1.6 * (t + 2), 1.8 * k), squeeze=False)
  names = result["class_names"]
  for r in range(k):
    for j in range(t):
      f = frames[r, j]
      axes[r, j].imshow(np.clip(f[..., 0] if f.shape[-1] == 1 else f, 0, 1), cmap="gray")
      axes[r, j].set_title(f"frame {j + 1}", fontsize=7)
    axes[r, t].imshow(result["di_true"][r], cmap="gray", vmin=0, vmax=1)
    axes[r, t].set_title("target DI", fontsize=7)
    mse = np.mean((result["di_pred"][r] - result["di_true"][r]) ** 2)
    axes[r, t + 1].imshow(result["di_pred"][r], cmap="gray", vmin=0, vmax=1)
    axes[r, t + 1].set_title(f"FDP DI (MSE {mse:.4f})", fontsize=7)
    axes[r, 0].set_ylabel(f"{result['clips'][r]}\n{names[result['label'][r]]} -> "
                          f"{names[result['pred'][r]]}", fontsize=7)
  for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def table14(dataset, extra, tiny: bool, workdir: str, log) -> str:
  """Runs every row of merjax/configs/fdp_table14.py; Markdown with ours beside the paper."""
  module = paper_tables.load_table("fdp", "14")
  lines = [f"## {module.TITLE}", "",
           "| row | avg MSE x1e-3 (ours) | avg MSE x1e-3 (paper) | Acc (ours) |",
           "|---|---:|---:|---:|"]
  rows = paper_tables.row_configs(module, dataset, extra, tiny)
  for i, (name, config, paper) in enumerate(rows):
    log(f"row: {name}")
    result = train_and_construct(config, os.path.join(workdir, f"{i:02d}"), log)
    acc = float(np.mean(result["pred"] == result["label"]))
    lines.append(f"| {name} | {1e3 * average_mse(result):.3f} | "
                 f"{paper['di_mse_x1e3']:.2f} | {acc:.4f} |")
  return "\n".join(lines) + "\n"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", default="fdp")
  parser.add_argument("--run", default=None,
                      help="a finished run directory: draw with its fold models")
  parser.add_argument("--workdir", default=None,
                      help="where to train (default runs/show_fdp-<time>)")
  parser.add_argument("--dataset", default=None)
  parser.add_argument("--clips", type=int, default=4)
  parser.add_argument("--out", default="fdp_di.png")
  parser.add_argument("--table", default=None, help="14: Table 14's average DI MSE")
  parser.add_argument("--tiny", action="store_true")
  parser.add_argument("overrides", nargs="*")
  args = cli.parse(parser, argv)
  workdir = args.workdir or os.path.join("runs", f"show_fdp-{time.strftime('%Y%m%d-%H%M%S')}")

  def body():
    if args.table is not None:
      if str(args.table) != "14":
        raise MerjaxError("show_fdp --table: only Table 14 (DI construction MSE)")
      print(table14(args.dataset, args.overrides, args.tiny, workdir, cli.log))
      return cli.OK
    if args.run:
      config, run_dir = rundir.read_json(os.path.join(args.run, rundir.CONFIG)), args.run
    else:
      overrides = list(args.overrides)
      if args.tiny:
        from merjax.configs.fdp import TINY  # pylint: disable=import-outside-toplevel
        overrides = list(TINY) + overrides
      config = config_lib.resolve(args.model, args.dataset or "synthetic", overrides)
      run_dir = workdir
    result = train_and_construct(config, run_dir, cli.log)
    print(f"average DI MSE over {len(result['frames'])} test clips: {average_mse(result):.5f}")
    print(f"wrote {plot(result, args.out, args.clips)}")
    return cli.OK

  return cli.guarded(body)


if __name__ == "__main__":
  sys.exit(main())
