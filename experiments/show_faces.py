"""Landmarks, aligned crops and facial regions of a few clips, as one PNG.

python -m experiments.show_faces --make-fixture DIR
  writes a SAMM-layout copy built from a real photograph (scikit-image's astronaut;
  clip 007_3_1 shows a photograph without a face), to try the face step on.
python -m experiments.show_faces --dataset NAME --root DIR --out OUT
  [--clips 4] [--modality onset_apex_diff] [data.preprocess.KEY=VALUE ...]
  aligns the faces (data.preprocess.face_pipeline, default align; size default
  128; the face cache and the modality cache as a run's), stages the modality and
  writes OUT/faces.png: per clip the onset frame with its 68 landmarks and the
  crop square, the aligned onset with the named regions, the aligned apex with
  the 6 x 6 grid and D&C-RoIs, and the modality. Clips without a face follow
  data.preprocess.face_policy (skip: left out and named; fail: the error names
  the clip and frame; whole_frame: shown uncropped).
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
from merjax.data import registry as data_registry  # pylint: disable=wrong-import-position
from merjax.faces import align as align_lib  # pylint: disable=wrong-import-position
from merjax.faces import pipeline as faces_lib  # pylint: disable=wrong-import-position
from merjax.faces import regions as regions_lib  # pylint: disable=wrong-import-position
from merjax.modalities import stage  # pylint: disable=wrong-import-position

COLOURS = {"right_brow": "tab:orange", "left_brow": "tab:orange", "right_eye": "tab:blue",
           "left_eye": "tab:blue", "nose": "tab:green", "mouth": "tab:red",
           "right_cheek": "tab:purple", "left_cheek": "tab:purple", "chin": "tab:brown"}


def data_config(dataset: str, root: str | None, modality: str, overrides) -> dict:
  """The validated data config (face_pipeline align and size 128 unless overridden)."""
  config = schema.defaults()
  config["model"]["name"] = "ststnet"          # any model: only data.* is used here
  config["data"].update(dataset=dataset, root=root, inputs={"image": modality})
  config["data"]["preprocess"].update(face_pipeline="align", size=128)
  return schema.validate(config_lib.apply_overrides(config, overrides))["data"]


def _grey(x):
  x = np.asarray(x)
  return x[..., 0] if x.shape[-1] == 1 else x


def _show(ax, image, title=None):
  im = _grey(image)
  ax.imshow(im, cmap="gray" if im.ndim == 2 else None, interpolation="nearest",
            vmin=0, vmax=255 if im.dtype == np.uint8 else 1)
  ax.set_xticks([])
  ax.set_yticks([])
  if title:
    ax.set_title(title, fontsize=7)


def draw(clips, results, images, cfg, path):
  """The figure: one row per clip, four columns."""
  cols = ["onset + 68 landmarks", "aligned onset + regions", "aligned apex + grid / D&C-RoIs",
          "modality"]
  fig, axes = plt.subplots(len(clips), 4, figsize=(9, 2.4 * len(clips)), squeeze=False)
  for r, (clip, res, x) in enumerate(zip(clips, results, images, strict=True)):
    frames = clip.read_frames()
    onset, apex = frames[clip.onset], frames[clip.apex_or_middle]
    ax = axes[r, 0]
    _show(ax, onset, cols[0] if r == 0 else None)
    ax.set_ylabel(f"{clip.subject}/{clip.clip_id}\n{res.status if res else 'no face step'}",
                  fontsize=7)
    if res is not None and res.transform is not None:
      M = res.transform if res.transform.ndim == 2 else res.transform[0]
      back = align_lib.invert(M)
      S = res.size
      corners = align_lib.apply(back, [[-0.5, -0.5], [S - 0.5, -0.5], [S - 0.5, S - 0.5],
                                       [-0.5, S - 0.5], [-0.5, -0.5]])
      ax.plot(corners[:, 0], corners[:, 1], color="yellow", lw=0.8)
      if res.landmarks is not None:
        lm = align_lib.apply(back, res.landmarks)
        ax.scatter(lm[:, 0], lm[:, 1], s=1.5, color="lime")
      shown = [faces_lib.apply_alignment(onset[None], res, cfg, 0)[0],
               faces_lib.apply_alignment(apex[None], res, cfg,
                                         clip.apex_or_middle - clip.onset)[0]]
      _show(axes[r, 1], shown[0], cols[1] if r == 0 else None)
      _show(axes[r, 2], shown[1], cols[2] if r == 0 else None)
      if res.landmarks is not None:
        for name, poly in regions_lib.region_polygons(res.landmarks).items():
          p = np.vstack([poly, poly[:1]])
          axes[r, 1].fill(p[:, 0], p[:, 1], color=COLOURS[name], alpha=0.25, lw=0)
          axes[r, 1].plot(p[:, 0], p[:, 1], color=COLOURS[name], lw=0.6)
        for x0, y0, x1, y1 in regions_lib.grid36(res.landmarks).values():
          axes[r, 2].add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False,
                                             lw=0.3, color="cyan"))
        for y0, y1, x0, x1 in regions_lib.dc_rois(res.landmarks, (S, S)).values():
          axes[r, 2].add_patch(plt.Rectangle((x0 * S, y0 * S), (x1 - x0) * S, (y1 - y0) * S,
                                             fill=False, lw=0.8, color="red"))
    else:
      for k in (1, 2):
        axes[r, k].axis("off")
    _show(axes[r, 3], np.clip(x, 0, 1), cols[3] if r == 0 else None)
  fig.suptitle(f"face_pipeline={cfg['face_pipeline']}  detector={cfg['face_detector']}  "
               f"reference={cfg['face_reference']}", fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--make-fixture", metavar="DIR", help="write a SAMM-layout copy of a real face")
  p.add_argument("--dataset", default="samm")
  p.add_argument("--root")
  p.add_argument("--out")
  p.add_argument("--clips", type=int, default=4)
  p.add_argument("--modality", default="onset_apex_diff")
  p.add_argument("overrides", nargs="*", help="data.* key=value overrides")
  args = cli.parse(p, argv)

  def body():
    if args.make_fixture:
      from merjax.faces import testing  # pylint: disable=import-outside-toplevel
      testing.make_samm_faces(args.make_fixture, no_face=("007_3_1",))
      cli.log(f"wrote a SAMM-layout copy of skimage's astronaut to {args.make_fixture} "
              f"({len(testing.FACE_ROWS)} clips; 007_3_1 has no face)")
      return cli.OK
    if not args.out:
      p.error("--out is needed (or --make-fixture DIR)")
    data_cfg = data_config(args.dataset, args.root, args.modality, args.overrides)
    cache_dir = experiment.modality_cache_dir(data_cfg)
    clips = data_registry.load_clips(data_cfg)
    keep = stage.screen_clips(clips, data_cfg["inputs"], data_cfg["preprocess"],
                              data_cfg["onset_equals_apex"], cli.log, cache_dir=cache_dir)
    clips = [clips[i] for i in keep][:args.clips]
    cfg = stage.resolve_preprocess(data_cfg["preprocess"])
    results = stage.align_faces(clips, cfg, cache_dir)
    images = experiment.stage(clips, data_cfg)["image"]
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "faces.png")
    draw(clips, results, images, cfg, path)
    cli.log(f"wrote {path} ({len(clips)} clips)")
    return cli.OK

  return cli.guarded(body)


if __name__ == "__main__":
  sys.exit(main())
