"""MESTI beside MEGANet's gradient-attention map (the paper's Fig. 5 / Fig. 8) for a few clips per class.

  python -m experiments.show_attention --workdir RUN [--fold NAME] [--out DIR] [--per-class 3]
  python -m experiments.show_attention [--dataset synthetic] [--out DIR] [--size 64]
      [--epochs 10] [--per-class 3] [key=value ...]

With --workdir, the saved model of one fold (--fold, default the first) of a finished
MEGANet run (experiments.loso --model meganet) is loaded from its checkpoints and its
held-out subject's clips come first. Without it, a small MEGANet (widths 16/32/64,
`--size` input) is trained in-process on one 90/10 split of the dataset with the paper's
training (meganet config). The map A = sigmoid(conv3x3(|dX| + |dY|)) of test clips
(training clips when a class has too few) is drawn beside each clip's MESTI. Writes
DIR/attention.png (and .json). Real data: --dataset casme2 data.root=/path/to/CASME2
data.protocol=casme2_5class.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from merjax import cli, experiment, predict, rundir
from merjax import config as config_lib
from merjax.configs import schema
from merjax.errors import MerjaxError
from merjax.models.registry import build_model


def small_config(dataset: str, size: int, epochs: int, overrides) -> dict:
  """The meganet config shrunk to a CPU-sized run (the user's overrides win), validated."""
  base = [f"data.preprocess.size={size}", "model.widths=[16, 32, 64, 128]",
          f"train.epochs={epochs}", "train.batch_size=16", "data.folds=split",
          "data.test_fraction=0.1", "data.synthetic.num_subjects=8",
          "data.synthetic.clips_per_subject=8", f"data.synthetic.size={max(size, 32)}"]
  return config_lib.resolve("meganet", dataset, base + list(overrides))


def load_trained(workdir: str, fold: str | None, log=print):
  """(config, prepared, model, variables, test mask, input transform) of a finished run's
  saved fold model."""
  config = schema.validate(rundir.read_json(os.path.join(workdir, rundir.CONFIG)))
  record, state = predict.load_member(workdir, fold)
  log(f"loaded the fold {record['fold']} seed {record['seed']} model of {workdir}")
  prepared = experiment.prepare_data(config, log)
  norm = state.get("norm") or {}               # the fold's training-set standardisation
  to_model = ((lambda x: (x - norm["image"][0]) / norm["image"][1]) if norm else (lambda x: x))
  model = build_model(config["model"], len(prepared.class_names))
  variables = predict.selected_variables(state, config["train"]["selection"]["rule"])
  test_N = np.asarray(prepared.folds.test_FxN[prepared.folds.names.index(record["fold"])])
  return config, prepared, model, variables, test_N, to_model


def pick_clips(y_N, test_N, per_class: int, num_classes: int) -> list[int]:
  """Up to `per_class` clips of each class, test clips first."""
  order = np.concatenate([np.flatnonzero(test_N), np.flatnonzero(~test_N)])
  picked = []
  for c in range(num_classes):
    picked += [int(i) for i in order if y_N[i] == c][:per_class]
  return picked


def plot(images, maps, titles, class_names, labels, path: str):
  """Rows = classes; each clip is a (MESTI, attention map) pair of panels."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  rows = [[i for i, l in enumerate(labels) if l == c] for c in range(len(class_names))]
  rows = [r for r in rows if r]
  cols = max(len(r) for r in rows)
  fig, axes = plt.subplots(len(rows), 2 * cols, figsize=(3.0 * cols * 2 * 0.8, 2.6 * len(rows)),
                           squeeze=False)
  for ax in axes.ravel():
    ax.axis("off")
  for r, members in enumerate(rows):
    for j, i in enumerate(members):
      img = np.clip(images[i], 0, 1)
      ax_img, ax_map = axes[r, 2 * j], axes[r, 2 * j + 1]
      ax_img.imshow(img[..., 0] if img.shape[-1] == 1 else img[..., :3],
                    cmap="gray" if img.shape[-1] == 1 else None)
      ax_img.set_title(titles[i], fontsize=7)
      a = maps[i][..., 0]
      im = ax_map.imshow(a, cmap="jet")
      ax_map.set_title(f"attention [{a.min():.2f}, {a.max():.2f}]", fontsize=7)
      fig.colorbar(im, ax=ax_map, fraction=0.046, pad=0.02).ax.tick_params(labelsize=5)
  fig.suptitle("MESTI and MEGANet gradient-attention map (colour scale per map)", fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", default=None, help="a finished MEGANet run to load")
  parser.add_argument("--fold", default=None, help="with --workdir: the fold model to use")
  parser.add_argument("--dataset", default="synthetic")
  parser.add_argument("--out", default=None, help="output folder (default runs/attention-<time>)")
  parser.add_argument("--size", type=int, default=64)
  parser.add_argument("--epochs", type=int, default=10)
  parser.add_argument("--per-class", type=int, default=3)
  parser.add_argument("overrides", nargs="*")
  args = cli.parse(parser, argv)
  out = args.out or os.path.join("runs", f"attention-{time.strftime('%Y%m%d-%H%M%S')}")
  return cli.guarded(lambda: draw(args, out))


def draw(args, out: str) -> int:
  """Loads (or first trains, through the run core, in OUT/run) the MEGANet fold model and
  draws the attention figure."""
  workdir = args.workdir
  if not workdir:
    config = small_config(args.dataset, args.size, args.epochs, args.overrides)
    if config["model"]["name"] != "meganet":
      raise MerjaxError("show_attention draws MEGANet's gradient attention: model.name=meganet")
    workdir = os.path.join(out, "run")
    experiment.run(config, workdir, log=cli.log)
  config, prepared, model, variables, test_N, to_model = load_trained(workdir, args.fold,
                                                                       cli.log)
  if config["model"]["name"] != "meganet":
    raise MerjaxError("show_attention draws MEGANet's gradient attention: model.name=meganet")
  classes = prepared.class_names
  idx = pick_clips(prepared.y_N, test_N, args.per_class, len(classes))
  images = prepared.inputs["image"][idx]
  model_images = to_model(images)
  outputs = jax.jit(lambda v, x: model.apply(v, {"image": x}, train=False))(
      variables, jnp.asarray(model_images))
  maps = np.asarray(outputs["gradient_attention"])
  preds = np.asarray(outputs["logits"]).argmax(-1)
  labels = [int(prepared.y_N[i]) for i in idx]
  titles = [f"{classes[l]} ({'test' if test_N[i] else 'train'}) {prepared.clips[i].clip_id}\n"
            f"pred {classes[p]}" for i, l, p in zip(idx, labels, preds)]
  os.makedirs(out, exist_ok=True)
  path = os.path.join(out, "attention.png")
  plot(images, maps, titles, classes, labels, path)
  with open(os.path.join(out, "attention.json"), "w") as f:
    json.dump({"config": config, "clips": [prepared.clips[i].key for i in idx],
               "labels": [classes[l] for l in labels], "preds": [classes[p] for p in preds],
               "map_range": [[float(m.min()), float(m.max())] for m in maps]}, f, indent=2,
              default=str)
  print(f"wrote {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
