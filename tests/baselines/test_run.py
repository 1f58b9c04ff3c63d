"""`--model lbp_top` end to end: LOSO on a small synthetic set through the run directory,
above chance; resume after an interruption; config errors."""

import csv
import json
import os

import pytest

from experiments import loso, score
from merjax import config as config_lib
from merjax import experiment
from merjax.baselines import run as baseline_run
from merjax.errors import MerjaxError


def quick_config(*overrides):
  return config_lib.resolve("lbp_top", "synthetic", ["data.cache_dir="] + list(overrides),
                            quick=True)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A finished QUICK run: 6 subjects x 12 clips of 3 classes."""
  workdir = str(tmp_path_factory.mktemp("lbp") / "run")
  assert loso.main(["--model", "lbp_top", "--dataset", "synthetic", "--quick",
                    "--workdir", workdir, "data.cache_dir="]) == 0
  return workdir


def test_loso_above_chance(finished, capsys):
  metrics = json.load(open(os.path.join(finished, "metrics.json")))
  assert metrics["num_predictions"] == 72 and metrics["num_folds"] == 6
  # 3 balanced classes: chance is 1/3 (24 of 72 right); the run gets 37.
  assert metrics["pooled"]["acc"] > 0.45 and metrics["pooled"]["uf1"] > 0.45
  with open(os.path.join(finished, "predictions.csv"), newline="") as f:
    rows = list(csv.DictReader(f))
  assert {r["seed"] for r in rows} == {"0"} and len({r["fold"] for r in rows}) == 6
  assert all(r["pred"] == max(("happiness", "disgust", "surprise"),
                              key=lambda c: float(r[f"logit_{c}"])) for r in rows)
  capsys.readouterr()
  assert score.main([finished, "--json"]) == 0       # experiments.score reads it unchanged
  rescored = json.loads(capsys.readouterr().out)
  assert rescored["pooled"]["uf1"] == pytest.approx(metrics["pooled"]["uf1"])


def test_resume_skips_finished_folds(finished, tmp_path, monkeypatch):
  """Interrupted after 2 folds, the rerun fits only the 4 others; its predictions equal
  the uninterrupted run's byte for byte."""
  workdir = str(tmp_path / "run")
  fits = []
  real = baseline_run.svm.fit_scores

  def interrupted(*args, **kwargs):
    if len(fits) == 2:
      raise KeyboardInterrupt
    fits.append(1)
    return real(*args, **kwargs)

  monkeypatch.setattr(baseline_run.svm, "fit_scores", interrupted)
  with pytest.raises(KeyboardInterrupt):
    experiment.run(quick_config(), workdir)
  progress = json.load(open(os.path.join(workdir, "progress.json")))
  assert progress["programs"]["0"]["groups_done"] == [0, 1]
  fits.clear()
  monkeypatch.setattr(baseline_run.svm, "fit_scores",
                      lambda *a, **k: (fits.append(1), real(*a, **k))[1])
  experiment.run(quick_config(), workdir)
  assert len(fits) == 4
  with open(os.path.join(workdir, "predictions.csv"), "rb") as a, \
       open(os.path.join(finished, "predictions.csv"), "rb") as b:
    assert a.read() == b.read()


@pytest.mark.parametrize("override,message", [
    ("train.seeds=2", "deterministic"),
    ("model.radus=[1,1,1]", "did you mean model.radius"),
    ("model.neighbours=[8,8]", "three integers"),
    ("data.modality=apex", "modality 'frames'"),
    ("train.selection.rule=oracle", "no epochs"),
])
def test_config_errors(override, message):
  with pytest.raises(MerjaxError, match=message):
    quick_config(override)
