"""model.pretrained: a tiny MESTI-baseline run and a tiny DIANet run on the synthetic
dataset start every member's backbone from the file (head fresh), record the file's sha256
in config.json, and a per-part learning rate leaves the backbone where the file put it."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

from merjax import config as config_lib
from merjax import experiment, predict
from merjax.errors import MerjaxError
from merjax.models import registry
from merjax.models.weights import export, mapping, pretrained
from merjax.training import trainer as trainer_lib

TINY = ["data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=3",
        "data.synthetic.size=32", "data.synthetic.min_frames=8", "data.synthetic.max_frames=9",
        "data.synthetic.num_classes=3", "data.preprocess.size=32", "data.cache_dir=",
        "train.epochs=1", "train.batch_size=4", "train.checkpoint_every=0",
        "train.augment={}"]


@pytest.fixture(autouse=True)
def wired(monkeypatch):
  """experiment.build_fold_functions with the trainer's own config options
  (trainer.config_options), as long as experiment.py does not pass them itself."""
  original = experiment.build_fold_functions

  def build(config, model, tables_, roles):
    fns = original(config, model, tables_, roles)
    options = trainer_lib.config_options(config)
    if any(getattr(fns, k) != v for k, v in options.items()):
      fns = dataclasses.replace(fns, **options)
    return fns
  monkeypatch.setattr(experiment, "build_fold_functions", build)


def _file(tmp_path, model_cfg, num_classes, sample, fmt, seed=7):
  """A weights file of `model_cfg` (random variables of a `num_classes` model) in `fmt`."""
  model = registry.build_model(model_cfg, num_classes)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), sample, train=False))
  rng = np.random.default_rng(seed)
  variables = jax.tree.map(lambda s: rng.normal(size=s.shape).astype(s.dtype), shapes)
  variables["batch_stats"] = jax.tree.map(np.abs, variables.get("batch_stats", {}))
  path = str(tmp_path / f"pretrained.{'npz' if fmt == 'merjax' else 'safetensors'}")
  sd = export.export_state_dict(model, variables, fmt)
  if fmt == "merjax":
    np.savez(path, **sd)
  else:
    export.save_safetensors(sd, path)
  return path, variables


def _run(model, overrides, workdir):
  config = config_lib.resolve(model, "synthetic", TINY + overrides)
  pretrained.record_sha256(config)
  experiment.run(config, workdir)
  return json.load(open(os.path.join(workdir, "config.json")))


def _check_members(workdir, file_vars, trunks, head=None):
  """Every saved member: each trunk's params equal the file's backbone; the file's head,
  although of the same shape, is not loaded."""
  want = mapping.flatten(file_vars["params"]["backbone"])
  members = list(predict.trained_members(workdir))
  assert len(members) == 3                            # 3 LOSO folds
  for _record, state in members:
    params = state["params"]
    for trunk in trunks:
      got = mapping.flatten(params[trunk])
      assert set(got) == set(want)
      for p, v in want.items():
        np.testing.assert_array_equal(got[p], v)
    if head is not None:
      for p, v in mapping.flatten(file_vars["params"][head]).items():
        got = mapping.flatten(params[head])[p]
        assert got.shape == v.shape and not np.allclose(got, v)


def test_mesti_baseline_starts_from_a_torchvision_file(tmp_path):
  small = {"name": "resnet50", "stage_sizes": [1, 1, 1, 1], "widths": [4, 8, 8, 8]}
  x = np.zeros((1, 32, 32, 3), np.float32)
  path, file_vars = _file(tmp_path, small, 3, {"image": x}, "torchvision")
  workdir = str(tmp_path / "run")
  cfg = _run("resnet50", ["model.stage_sizes=[1,1,1,1]", "model.widths=[4,8,8,8]",
                          f"model.pretrained={path}", "train.optimizer.learning_rate=0.0"],
             workdir)
  assert cfg["model"]["pretrained_sha256"] == pretrained.file_sha256(path)
  _check_members(workdir, file_vars, ["backbone"], "head")


def test_dianet_two_trunks_start_from_a_merjax_file_with_a_smaller_backbone_lr(tmp_path):
  """DIANet with one trunk per stream from a merjax-format resnet18 file; with
  backbone_lr_scale=0 the trunks stay at the file's values while the rest trains."""
  opts = {"widths": [4, 8, 8, 8]}
  x = np.zeros((1, 32, 32, 3), np.float32)
  path, file_vars = _file(tmp_path, {"name": "resnet18", **opts}, 5, {"image": x}, "merjax")
  workdir = str(tmp_path / "run")
  cfg = _run("dianet", ["model.backbone=resnet18", "model.shared_backbone=false",
                        'model.backbone_options={"resnet18": {"widths": [4, 8, 8, 8]}}',
                        "model.feature_dim=8", "model.fusion_dim=8",
                        "model.mlp_hidden=8", f"model.pretrained={path}",
                        "model.pretrained_format=merjax", "train.optimizer.backbone_lr_scale=0.0",
                        "train.selection.rule=last", "data.protocol=null",
                        "data.preprocess.num_frames=8"], workdir)
  assert cfg["model"]["pretrained_sha256"] == pretrained.file_sha256(path)
  _check_members(workdir, file_vars, ["backbone_onset", "backbone_offset"])


def test_bad_pretrained_settings_are_one_line_errors(tmp_path):
  with pytest.raises(MerjaxError, match="model.pretrained: .*not found"):
    config_lib.resolve("resnet18", "synthetic", [f"model.pretrained={tmp_path}/none.pth"])
  with pytest.raises(MerjaxError, match="model.pretrained_format: 'keras'"):
    config_lib.resolve("resnet18", "synthetic", ["model.pretrained_format=keras"])
  with pytest.raises(MerjaxError, match="model.init: 'lecun'"):
    config_lib.resolve("ststnet", "synthetic", ["model.init=lecun"])
  path = tmp_path / "w.pth"
  path.write_bytes(b"x")
  with pytest.raises(MerjaxError, match="has no converter for MobileViT"):
    config_lib.resolve("mobilevit_s", "synthetic", [f"model.pretrained={path}",
                                                   "model.pretrained_format=torchvision"])
  config = config_lib.resolve("resnet18", "synthetic", [f"model.pretrained={path}"])
  config["model"]["pretrained_sha256"] = "0" * 64
  with pytest.raises(MerjaxError, match="the file changed"):
    pretrained.record_sha256(config)
