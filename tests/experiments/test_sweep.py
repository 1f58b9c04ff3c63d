"""experiments.sweep: a numeric grid x seeds x folds in one compiled program,
the sweep table, nested selection that never looks at the outer test subject,
and each combination equal to the same run made alone."""

import csv
import json
import os

import numpy as np
import pytest

from experiments import sweep
from merjax import config as config_lib
from merjax import experiment
from merjax import sweep as sweep_lib
from merjax.data import protocols
from merjax.training import strategies
from merjax.training import trainer as trainer_lib

TINY = ["data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=4",
        "data.synthetic.size=32", "data.synthetic.min_frames=8", "data.synthetic.max_frames=10",
        "data.synthetic.num_classes=3", "data.modality=onset_apex_diff", "data.cache_dir=",
        "train.epochs=2", "train.batch_size=8", "train.group_size=12",
        "train.checkpoint_every=0", "train.save_final=false"]
GRID = ["grid.train.lr=1e-3,2e-2", "grid.train.augment.translate_px=0,2"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
  """The sweep, with the number of times the epoch function was traced for training (the
  duration estimate lowers a one-member copy too, never compiled: not counted)."""
  workdir = str(tmp_path_factory.mktemp("sweep"))
  traces, estimating = [], []
  original = trainer_lib.FoldFunctions._epoch
  def counting(self, *args):
    if not estimating:
      traces.append(1)
    return original(self, *args)
  estimate = strategies.estimate_seconds
  def flagged(*args, **kwargs):
    estimating.append(1)
    try:
      return estimate(*args, **kwargs)
    finally:
      estimating.pop()
  with pytest.MonkeyPatch.context() as mp:
    mp.setattr(trainer_lib.FoldFunctions, "_epoch", counting)
    mp.setattr(strategies, "estimate_seconds", flagged)
    assert sweep.main(["--model", "ststnet", "--workdir", workdir, "--seeds", "3",
                       "--select", "nested"] + GRID + TINY) == 0
  return workdir, len(traces)


def test_numeric_grid_compiles_once(swept, capsys):
  workdir, traces = swept
  assert traces == 1                 # 4 combinations x 3 seeds x (3 outer + 6 inner) folds
  summary = json.load(open(os.path.join(workdir, "sweep.json")))
  assert summary["programs"] == 1 and summary["structural"] == []
  assert summary["traced"] == ["train.optimizer.learning_rate", "train.augment.translate_px"]
  progress = json.load(open(os.path.join(workdir, "progress.json")))
  assert len(progress["programs"]["0"]["members"]) == 4 * 3 * 9


def test_sweep_table_is_mean_and_std_over_seeds(swept):
  workdir, _ = swept
  text = open(os.path.join(workdir, "sweep.md")).read()
  assert "4 combinations x 3 seed(s), 1 compiled program(s)" in text
  assert text.count("±") >= 4 * 6 and "| nested LOSO selection |" in text
  assert "ORACLE" in text
  rows = list(csv.DictReader(open(os.path.join(workdir, "sweep.csv"))))
  assert [r["train.optimizer.learning_rate"] for r in rows] == ["0.001"] * 2 + ["0.02"] * 2
  for r in rows:
    seeds = [float(r[f"pooled_uf1_seed{s}"]) for s in (0, 1, 2)]
    assert float(r["pooled_uf1"]) == pytest.approx(np.mean(seeds))
    assert float(r["pooled_uf1_std"]) == pytest.approx(np.std(seeds, ddof=1))
    metrics = json.load(open(os.path.join(workdir, r["combination"], "metrics.json")))
    assert metrics["pooled"]["uf1"] == pytest.approx(float(r["pooled_uf1"]))


def test_a_combination_equals_the_same_run_alone(swept, tmp_path):
  """combo_003 (lr 2e-2, translate 2) trained among the grid == experiments.loso with those values."""
  workdir, _ = swept
  combo = json.load(open(os.path.join(workdir, "combo_003", "config.json")))
  assert combo["sweep_combination"]["values"] == {"train.optimizer.learning_rate": 0.02,
                                                  "train.augment.translate_px": 2}
  config = config_lib.apply_overrides(config_lib.load_config("ststnet"), TINY + [
      "train.lr=0.02", "train.augment.translate_px=2", "train.seeds=3"])
  alone = str(tmp_path / "alone")
  experiment.run(config, alone)
  read = lambda d: sorted(csv.reader(open(os.path.join(d, "predictions.csv"))))
  a, b = read(os.path.join(workdir, "combo_003")), read(alone)
  assert [r[:7] for r in a] == [r[:7] for r in b]
  np.testing.assert_allclose(np.asarray([r[7:] for r in a[1:]], float),
                             np.asarray([r[7:] for r in b[1:]], float), rtol=1e-4, atol=1e-4)


def test_nested_selection_uses_inner_folds_only(swept):
  workdir, _ = swept
  selection = json.load(open(os.path.join(workdir, "nested", "selection.json")))
  assert len(selection) == 3 * 3                          # outer folds x seeds
  for key, choice in selection.items():
    scores = choice["inner_uf1"]
    assert choice["combo"] == int(np.argmax(scores)) and len(scores) == 4
  for c in range(4):
    for r in csv.DictReader(open(os.path.join(workdir, "inner", f"combo_{c:03d}",
                                              "predictions.csv"))):
      outer, inner = r["fold"].split("|")
      assert f"{r['dataset']}/{r['subject']}" == inner != outer   # the outer subject never scored
  nested = list(csv.DictReader(open(os.path.join(workdir, "nested", "predictions.csv"))))
  assert len(nested) == 3 * 12
  for r in nested:
    chosen = selection[f"{r['fold']}/seed{r['seed']}"]["combo"]
    source = [s for s in csv.DictReader(open(os.path.join(workdir, f"combo_{chosen:03d}",
                                                          "predictions.csv")))
              if (s["clip"], s["seed"]) == (r["clip"], r["seed"])]
    assert source == [r]


def test_inner_folds_hold_out_training_subjects_only():
  subject_N = np.repeat(["a", "b", "c", "d"], 2)
  outer = protocols.loso_folds(subject_N)
  inner = sweep_lib.inner_folds(outer, subject_N)
  assert len(inner) == 4 * 3
  inner_k = sweep_lib.inner_folds(outer, subject_N, k=2)
  assert len(inner_k) == 4 * 2
  for folds in (inner, inner_k):
    for name, train_N, test_N in zip(folds.names, folds.train_FxN, folds.test_FxN):
      o = outer.names.index(name.split("|")[0])
      assert not (train_N & outer.test_FxN[o]).any() and not (test_N & outer.test_FxN[o]).any()
      assert not (train_N & test_N).any() and test_N.any()
      assert ((train_N | test_N) == outer.train_FxN[o]).all()


def test_structural_keys_make_separate_programs():
  config = config_lib.load_config("ststnet")
  combos = sweep_lib.combinations(sweep_lib.parse_grid(
      ["grid.train.lr=1e-3,1e-4", "grid.data.synthetic.size=16,32", "grid.train.epochs=1,2"]))
  assert len(combos) == 8
  traced, structural, programs = sweep_lib.plan(config, combos)
  assert traced == ["train.optimizer.learning_rate"]
  assert structural == ["data.synthetic.size", "train.epochs"]
  assert len(programs) == 4 and all(len(p) == 2 for p in programs)
  with pytest.raises(Exception, match="momentum"):
    sweep_lib.plan(config, [{"train.optimizer.momentum": 0.9}])
