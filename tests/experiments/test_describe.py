"""experiments.describe: the class count of the config's protocol, derived input shapes,
registered backbones, one-line errors."""

import json

import pytest

from experiments import describe
from merjax import config as config_lib


def _info(capsys, *argv):
  assert describe.main(list(argv) + ["--json"]) == 0
  return json.loads(capsys.readouterr().out)


def test_ststnet_counts_the_three_class_task_by_default(capsys):
  """Before the fix describe assumed 5 classes: 2,485 parameters instead of 1,683."""
  info = _info(capsys, "--model", "ststnet")
  assert (info["num_classes"], info["params"]) == (3, 1_683)
  assert info["inputs"] == {"image": [1, 28, 28, 3]}
  assert _info(capsys, "--model", "ststnet", "--dataset", "megc2019")["params"] == 1_683
  casme2 = _info(capsys, "--model", "ststnet", "--dataset", "casme2")     # casme2_5class
  assert (casme2["num_classes"], casme2["params"]) == (5, 2_485)
  assert _info(capsys, "--model", "ststnet", "--num-classes", "4")["num_classes"] == 4
  protocol = _info(capsys, "--model", "ststnet", "data.protocol=smic_3class")
  assert protocol["num_classes"] == 3


def test_class_count_rules():
  config = config_lib.load_config("dianet")                 # protocol "dianet": data-dependent
  assert describe.config_num_classes(config) == 5          # synthetic stand-in (5 classes)
  config["data"]["dataset"] = "samm"
  assert describe.config_num_classes(config) == 5          # samm_5class_fdp
  config["data"]["dataset"] = "tfds"
  with pytest.raises(describe.MerjaxError, match="pass --num-classes"):
    describe.config_num_classes(config)


def test_registered_backbone_and_errors(capsys):
  info = _info(capsys, "--model", "resnet18", "--num-classes", "3", "data.preprocess.size=32")
  assert info["inputs"] == {"image": [1, 32, 32, 3]} and info["outputs"]["logits"] == [1, 3]
  assert describe.main(["--model", "ststnet", "model.dropot=0.1"]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err == ["error: model.dropot: unknown field of model 'ststnet'; "
                 "did you mean model.dropout?"]
