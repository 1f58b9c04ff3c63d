"""experiments.loso end to end on fixture trees in each real dataset's format."""

import json
import os

import pytest

from experiments import loso
from merjax.data import testing

FAST = ["data.modality=onset_apex_diff", "data.preprocess.size=8", "train.epochs=1",
        "train.batch_size=32", "model.dropout=0.0", "data.cache_dir="]

CASES = {
    "casme2": testing.make_casme2,
    "samm": testing.make_samm,
    "smic": testing.make_smic,
    "casme_sq": testing.make_casme_sq,
    "casme3": testing.make_casme3,
    "mmew": testing.make_mmew,
    "megc2019": testing.make_megc2019,
}


@pytest.mark.parametrize("dataset", sorted(CASES))
def test_loso_runs_on_fixture(dataset, tmp_path):
  root = CASES[dataset](str(tmp_path / "data"))
  workdir = str(tmp_path / "run")
  assert loso.main(["--model", "ststnet", "--dataset", dataset, "--workdir", workdir,
                    f"data.root={root}"] + FAST) == 0
  metrics = json.load(open(os.path.join(workdir, "metrics.json")))
  config = json.load(open(os.path.join(workdir, "config.json")))
  assert metrics["num_folds"] >= 2
  assert metrics["pooled"]["uf1"] is not None
  if dataset == "megc2019":
    assert set(metrics["per_dataset"]) == {"casme2", "samm", "smic"}
    assert metrics["num_predictions"] == 442
  assert config["data"]["root"] == root
