"""Export: Flax variables -> safetensors -> the torch module -> the same outputs, for single
models and for the fold models of a finished run."""

import os

import jax
import numpy as np
import pytest

import torch_refs as R
from merjax import config as config_lib
from merjax import experiment, predict
from merjax.models import registry
from merjax.models.weights import export

torch = R.torch
safetensors_torch = pytest.importorskip("safetensors.torch")


def _random_variables(model, sample, seed=0):
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), sample, train=False))
  rng = np.random.default_rng(seed)
  variables = jax.tree.map(lambda s: (0.2 * rng.normal(size=s.shape)).astype(s.dtype), shapes)
  variables["batch_stats"] = jax.tree.map(lambda a: np.abs(a) + 0.5 if a.ndim else a,
                                          variables.get("batch_stats", {}))
  return variables


def _round_trip(tmp_path, model, variables, module, x, fmt):
  path = str(tmp_path / "model.safetensors")
  export.save_safetensors(export.export_state_dict(model, variables, fmt), path)
  module.load_state_dict(safetensors_torch.load_file(path), strict=False)
  missing = set(module.state_dict()) - set(safetensors_torch.load_file(path))
  assert all(k.endswith("num_batches_tracked") for k in missing), missing
  want = np.asarray(model.apply(variables, {"image": x}, train=False)["logits"])
  got = R.forward_numpy(module, x)
  assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_ststnet_round_trip_into_the_official_network(tmp_path):
  x = np.random.default_rng(1).uniform(0, 255, (3, 28, 28, 3)).astype(np.float32)
  model = registry.build_model({"name": "ststnet"}, 3)
  _round_trip(tmp_path, model, _random_variables(model, {"image": x}), R.STSTNetTorch(), x,
              "reference")


def test_resnet18_round_trip_into_torchvision(tmp_path):
  x = np.random.default_rng(1).normal(size=(2, 32, 32, 3)).astype(np.float32)
  model = registry.build_model({"name": "resnet18"}, 5)
  module = R.import_torchvision().models.resnet18(weights=None, num_classes=5)
  _round_trip(tmp_path, model, _random_variables(model, {"image": x}), module, x, "torchvision")


def test_a_finished_runs_fold_models_export(tmp_path):
  workdir = str(tmp_path / "run")
  config = config_lib.resolve("ststnet", "synthetic", [
      "data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=3",
      "data.synthetic.size=32", "data.synthetic.min_frames=8", "data.synthetic.max_frames=9",
      "data.modality=onset_apex_diff", "data.preprocess.size=28", "data.preprocess.output_size=28",
      "data.input_scale=1", "data.cache_dir=", "train.epochs=2", "train.batch_size=4",
      "train.checkpoint_every=0"])
  experiment.run(config, workdir)
  paths = export.export_run(workdir, str(tmp_path / "export"))
  assert len(paths) == 3 and all(os.path.isfile(p) for p in paths)
  x = np.random.default_rng(0).uniform(0, 1, (2, 28, 28, 3)).astype(np.float32)
  model = registry.build_model(config["model"], 3)
  for (record, state), path in zip(predict.trained_members(workdir), paths):
    assert os.path.basename(path).startswith(record["fold"].replace("/", "_"))
    module = R.STSTNetTorch()
    module.load_state_dict(safetensors_torch.load_file(path), strict=False)
    variables = predict.selected_variables(state, "last")
    want = np.asarray(model.apply(variables, {"image": x}, train=False)["logits"])
    got = R.forward_numpy(module, x)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max() + 1e-6
