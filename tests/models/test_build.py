"""The one model-building path (registry.build_model): field checks with their messages, the
shared field names, BatchNorm and DropPath helpers and backbone table, registered backbones
as classifier configs, and input shapes derived from data.inputs + data.preprocess."""

import dataclasses
import json
import os
import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from merjax import config as config_lib
from merjax.data import synthetic
from merjax.errors import MerjaxError
from merjax.modalities import stage
from merjax.models import backbones, inputs, registry, summary
from merjax.models.registry import build_model

MODELS_DIR = os.path.dirname(registry.__file__)


def test_unknown_field_names_the_field_and_the_closest_one():
  with pytest.raises(MerjaxError) as e:
    build_model({"name": "ststnet", "dropot": 0.3}, 3)
  assert str(e.value) == ("model.dropot: unknown field of model 'ststnet'; "
                          "did you mean model.dropout?")
  with pytest.raises(MerjaxError, match=r"^model.zzz: unknown field of model 'fdp'; fields: "):
    build_model({"name": "fdp", "zzz": 1}, 3)
  with pytest.raises(MerjaxError, match=r"^model.name: unknown model 'ststnte'; did you mean "
                                        r"ststnet\?$"):
    build_model({"name": "ststnte"}, 3)
  with pytest.raises(MerjaxError, match=r"^num_classes: 0 is not a positive integer$"):
    build_model({"name": "ststnet"}, 0)


def test_check_config_runs_without_building_and_checks_values():
  assert registry.check_config({"name": "meganet", "widths": [8, 16, 32, 64]}) == {
      "widths": (8, 16, 32, 64)}
  for cfg, message in [
      ({"name": "dfrnet", "module": "resnt"}, r"^model.module: 'resnt' is not one of"),
      ({"name": "ststnet", "conv_impl": "fft"}, r"^model.conv_impl: 'fft' is not one of"),
      ({"name": "fdp", "feature_dim": 4000}, r"^model.feature_dim: 4000 is not a square"),
      ({"name": "meganet", "dtype": "float17"}, r"^model.dtype: unknown dtype 'float17'$")]:
    with pytest.raises(MerjaxError, match=message):
      registry.check_config(cfg)


def test_input_shapes_is_not_a_model_field():
  with pytest.raises(MerjaxError, match=r"^model.input_shapes: not a model field; the input "
                                        r"shapes follow from data.inputs and data.preprocess"):
    build_model({"name": "ststnet", "input_shapes": {"image": [28, 28, 3]}}, 3)


def test_model_fields_are_the_module_fields_with_one_dropout_name():
  for name in registry.MODELS:
    fields = registry.model_fields(name)
    assert "name" not in fields and "num_classes" not in fields, name
    # One spelling: `dropout` (the model's rate), `drop_path` (stochastic depth).
    assert not fields & {"dropout_rate", "head_dropout", "path_dropout", "stochastic_depth",
                         "drop_rate"}, name
  assert {"dropout"} <= registry.model_fields("ststnet")
  assert {"dropout", "drop_path"} <= registry.model_fields("fdp")
  assert {"drop_path"} <= registry.model_fields("fdp_release")     # the release has no dropout
  assert {"dropout"} <= registry.model_fields("meganet") & registry.model_fields("dfrnet")
  assert {"dropout"} <= registry.model_fields("off_apexnet") & registry.model_fields("dianet")
  assert registry.model_fields("ststnet") == {f.name for f in dataclasses.fields(
      registry.model_class("ststnet"))} - {"parent", "name", "num_classes"}


def test_json_lists_build_the_same_module_as_tuples():
  cfg = {"name": "dfrnet", "stage_widths": (8, 16, 32, 64), "num_stages": 2}
  from_json = json.loads(json.dumps(cfg))
  assert from_json["stage_widths"] == [8, 16, 32, 64]
  assert build_model(from_json, 3) == build_model(cfg, 3)


def test_one_batchnorm_helper_and_one_droppath():
  """BatchNorm and stochastic depth are built only by merjax/models/layers.py."""
  for root, _, files in os.walk(MODELS_DIR):
    for file in files:
      if not file.endswith(".py") or file == "layers.py":
        continue
      text = open(os.path.join(root, file)).read()
      assert "nn.BatchNorm(" not in text, file
      assert "broadcast_dims=(1, 2, 3)" not in text, file
      assert not re.search(r"^class DropPath", text, re.M), file


def test_dianet_reads_the_shared_backbone_table():
  from merjax.models import dianet  # pylint: disable=import-outside-toplevel
  usable = {n for n, e in backbones.BACKBONES.items() if e.pooled_features}
  assert usable == set(backbones.BACKBONES) - {"vgg19"}
  for name in usable:
    dianet.check_fields({"backbone": name})
  assert not hasattr(dianet, "TRUNKS")


@pytest.mark.parametrize("name", ["resnet18", "efficientnetv2_s", "convnext_tiny", "mobilevit_s"])
def test_registered_backbone_is_a_classifier_config(name):
  from merjax.configs import backbone  # pylint: disable=import-outside-toplevel
  config = backbone.get_config(name)
  assert config_lib.load_config(name) == config      # --model <backbone> without a file
  assert config["model"] == {"name": name}
  assert config["data"]["inputs"] == {"image": "apex"}
  assert inputs.input_shapes(config) == {"image": (224, 224, 3)}
  small = config_lib.apply_overrides(config, ["data.preprocess.size=64"])
  info = summary.describe(build_model(small["model"], 3), inputs.batch_shapes(small, 2))
  assert info["outputs"]["logits"] == (2, 3)
  with pytest.raises(MerjaxError, match=r"^--model: unknown backbone 'resnet17'; did you mean "
                                        r"resnet18"):
    backbone.get_config("resnet17")


def test_input_shapes_follow_modality_and_preprocess():
  config = config_lib.load_config("ststnet")
  assert inputs.input_shapes(config) == {"image": (28, 28, 3)}   # flow_strain: u, v, strain
  cases = [({"image": "flow_onset_apex"}, {"size": 28}, {"image": (28, 28, 2)}),
           ({"image": "mesti"}, {"size": 32, "grayscale": True}, {"image": (32, 32, 1)}),
           ({"frames": "frames"}, {"size": 16, "num_frames": 4}, {"frames": (4, 16, 16, 3)}),
           ({"frames": "frames"}, {"size": 16}, {"frames": (8, 16, 16, 3)}),     # frames_T
           ({"a": "apex", "b": "di_offset"}, {"size": 64, "output_size": 32},
            {"a": (32, 32, 3), "b": (32, 32, 3)})]
  for roles, preprocess, want in cases:
    config["data"]["inputs"] = roles
    config["data"]["preprocess"] = preprocess
    assert inputs.input_shapes(config) == want, (roles, preprocess)
  config["data"]["preprocess"] = {"size": None}
  with pytest.raises(MerjaxError, match=r"^data.inputs.a: the shape of 'apex' follows the clips'"):
    inputs.input_shapes(config)


def test_input_shapes_equal_the_staged_arrays():
  clips = synthetic.load(num_subjects=1, clips_per_subject=2, size=32, min_frames=6,
                         max_frames=8)
  roles = {"apex": "apex", "diff": "onset_apex_diff", "mesti": "mesti", "frames": "frames"}
  for preprocess in ({"size": 16, "grayscale": True, "num_frames": 4},
                     {"size": 16, "output_size": 8}):
    config = {"data": {"inputs": roles, "preprocess": preprocess}}
    staged = stage.stage_inputs(clips, roles, preprocess)
    for role, x in staged.items():
      chex.assert_shape(x, (2,) + inputs.input_shapes(config)[role])


def test_offset_roles_are_the_frames_roles_under_fdp_offsets():
  config = config_lib.load_config("fdp")
  assert config["data"]["preprocess"]["temporal_mode"] == "fdp_offsets"
  assert inputs.offset_roles(config) == ("frames",)
  assert inputs.input_shapes(config) == {"frames": (8, 64, 64, 3)}     # the model's view
  assert inputs.offset_roles(config_lib.load_config("fdp_release")) == ()


def test_full_size_parameter_counts_from_derived_shapes():
  """Parameter counts the papers / releases give, at the configs' own input shapes."""
  def params(name, k):
    config = config_lib.load_config(name)
    return summary.describe(build_model(config["model"], k), inputs.batch_shapes(config))[
        "params"]
  assert params("ststnet", 3) == 1_683
  assert params("off_apexnet", 3) == 2_664_475
  assert params("fdp_release", 5) == 85_304_206
  assert params("fdp", 5) == 28_223_726          # RGB frames (the paper's 3 x 72 x 72 faces)


def test_layers_droppath_matches_dropout_with_broadcast():
  from merjax.models import layers  # pylint: disable=import-outside-toplevel
  x = jnp.ones((6, 2, 3, 1))
  rngs = {"dropout": jax.random.key(3)}
  path = layers.DropPath(0.5).apply({}, x, deterministic=False, rngs=rngs)
  drop = layers.Dropout(0.5, broadcast_dims=(1, 2, 3)).apply({}, x, deterministic=False,
                                                             rngs=rngs)
  np.testing.assert_array_equal(path, drop)
  kept = np.asarray(path).reshape(6, -1)
  assert set(np.unique(kept)) <= {0.0, 2.0} and all(len(set(r)) == 1 for r in kept)
  np.testing.assert_array_equal(layers.DropPath(0.5).apply({}, x, deterministic=True), x)
