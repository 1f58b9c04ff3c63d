"""PNG grids of every modality for a few clips of each class.

python -m experiments.show_modalities --dataset synthetic --out DIR
  [--per-class 2] [--size 64] [--no-flow] [key=value ...]

The clips are loaded and staged by the run core's data path (merjax/experiment.py) with
the dataset and preprocessing of the data.* overrides (e.g. data.root=DIR
data.preprocess.face_crop=true).

Writes DIR/modalities.png (rows = clips, columns = modalities) and
DIR/coefficients.png (dynamic image, MESTI and DI-Onset/Offset images next to
their coefficient curves).
"""

from __future__ import annotations

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

from merjax import cli, experiment  # pylint: disable=wrong-import-position
from merjax import config as config_lib  # pylint: disable=wrong-import-position
from merjax.configs import schema  # pylint: disable=wrong-import-position
from merjax.modalities import rank_pooling as rp  # pylint: disable=wrong-import-position
from merjax.modalities import registry  # pylint: disable=wrong-import-position

SHOWN = ["onset", "apex", "onset_apex_diff", "apex_offset_diff", "flow_onset_apex",
         "flow_apex_offset", "flow_strain", "flow_strain_dfrnet", "dynamic_image",
         "dynamic_image_linear", "mesti", "di_onset", "di_offset",
         "active_image_provisional", "affective_motion_provisional"]


def pick_clips(clips, per_class):
  """The first `per_class` clips of each label, in label order."""
  by_label = {}
  for c in clips:
    by_label.setdefault(c.label, [])
    if len(by_label[c.label]) < per_class:
      by_label[c.label].append(c)
  return [c for label in sorted(by_label) for c in by_label[label]]


def as_rgb(x_HxWxC):
  """1 channel -> grey, 2 channels (u, v) -> (u, v, 0.5), 3 -> as is."""
  if x_HxWxC.shape[-1] == 1:
    return np.repeat(x_HxWxC, 3, -1)
  if x_HxWxC.shape[-1] == 2:
    return np.concatenate([x_HxWxC, np.full(x_HxWxC.shape[:-1] + (1,), 0.5)], -1)
  return x_HxWxC


def modality_grid(clips, images, names, path):
  fig, axes = plt.subplots(len(clips), len(names),
                           figsize=(1.3 * len(names), 1.4 * len(clips)), squeeze=False)
  for r, c in enumerate(clips):
    for k, n in enumerate(names):
      ax = axes[r, k]
      ax.imshow(np.clip(as_rgb(images[n][r]), 0, 1), interpolation="nearest")
      ax.set_xticks([])
      ax.set_yticks([])
      if r == 0:
        ax.set_title(n.replace("_provisional", "\n(PROVISIONAL)").replace("_", " "),
                     fontsize=6)
      if k == 0:
        ax.set_ylabel(f"{c.label}\n{c.subject}/{c.clip_id}", fontsize=6)
  fig.suptitle("merjax modalities (active/affective images are PROVISIONAL "
               "interpretations, not the published formulas)", fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def coefficient_grid(clips, images, path):
  cols = ["dynamic_image", None, "mesti", None, "di_onset", "di_offset", None]
  fig, axes = plt.subplots(len(clips), len(cols), figsize=(2.0 * len(cols), 1.6 * len(clips)),
                           squeeze=False)
  for r, c in enumerate(clips):
    T, a = c.offset - c.onset + 1, c.apex_or_middle - c.onset + 1
    t = np.arange(1, T + 1)
    curves = [
        [("harmonic", rp.rank_pooling_weights(T, "harmonic")),
         ("linear", rp.rank_pooling_weights(T, "linear"))],
        [("MESTI", rp.mesti_weights(T, a))],
        list(zip(("DI-Onset", "DI-Offset"), rp.di_phase_weights(T, a)))]
    ci = 0
    for k, name in enumerate(cols):
      ax = axes[r, k]
      if name:
        ax.imshow(np.clip(as_rgb(images[name][r]), 0, 1), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if r == 0:
          ax.set_title(name, fontsize=7)
        if k == 0:
          ax.set_ylabel(f"{c.label} T={T} apex={a}", fontsize=6)
      else:
        for label, w in curves[ci]:
          ax.plot(t, w, marker=".", ms=3, lw=1, label=label)
        ax.axvline(a, color="grey", lw=0.5, ls="--")
        ax.axhline(0, color="black", lw=0.4)
        ax.tick_params(labelsize=5)
        if r == 0:
          ax.legend(fontsize=5)
          ax.set_title("coefficients (t, 1-based)", fontsize=7)
        ci += 1
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def data_config(dataset: str, size: int, names, overrides) -> dict:
  """The validated data config that stages `names` (each as its own input role)."""
  config = schema.defaults()
  config["model"]["name"] = "ststnet"          # any model: only data.* is used here
  config["data"].update(dataset=dataset, inputs={n: n for n in names})
  config["data"]["preprocess"]["size"] = size
  if dataset == "synthetic":
    config["data"]["synthetic"] = {"num_subjects": 4, "size": size}
  return schema.validate(config_lib.apply_overrides(config, overrides))["data"]


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--dataset", default="synthetic")
  p.add_argument("--out", required=True)
  p.add_argument("--per-class", type=int, default=2)
  p.add_argument("--size", type=int, default=64)
  p.add_argument("--no-flow", action="store_true", help="skip the TV-L1 modalities")
  p.add_argument("overrides", nargs="*", help="data.* key=value overrides")
  args = cli.parse(p, argv)

  def body():
    names = [n for n in SHOWN if not (args.no_flow and registry.get(n).kind == "flow")]
    data_cfg = data_config(args.dataset, args.size, names, args.overrides)
    clips = pick_clips(experiment.load_clips(data_cfg), args.per_class)
    cli.log(f"{len(clips)} clips, {len(names)} modalities")
    images = experiment.stage(clips, data_cfg)
    os.makedirs(args.out, exist_ok=True)
    modality_grid(clips, images, names, os.path.join(args.out, "modalities.png"))
    coefficient_grid(clips, images, os.path.join(args.out, "coefficients.png"))
    cli.log(f"wrote {args.out}/modalities.png and coefficients.png")
    return cli.OK

  return cli.guarded(body)


if __name__ == "__main__":
  sys.exit(main())
