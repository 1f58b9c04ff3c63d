"""data.task=au end to end: experiments.loso --task au on tiny synthetic data (per-AU F1
from the synthetic AU codes), leave-one-dataset-out over a composite of fixture copies,
the config checks, and the trainer's inner-validation score."""

import csv
import json
import os

import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from experiments import loso, score
from merjax import config as config_lib
from merjax.data import au, labels, registry, synthetic, testing
from merjax.errors import MerjaxError
from merjax.evaluation import au_metrics
from merjax.training import trainer

TINY = ["data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=4",
        "data.synthetic.size=32", "data.synthetic.min_frames=8", "data.synthetic.max_frames=10",
        "data.synthetic.num_classes=3", "data.modality=onset_apex_diff",
        "train.epochs=2", "train.batch_size=8", "data.cache_dir="]


@pytest.fixture(scope="module")
def au_run(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("au"))
  assert loso.main(["--model", "ststnet", "--dataset", "synthetic", "--task", "au",
                    "--workdir", workdir] + TINY) == 0
  return workdir


def _rows(workdir):
  return list(csv.DictReader(open(os.path.join(workdir, "predictions.csv"))))


def test_synthetic_au_labels_and_per_au_f1(au_run):
  rows = _rows(au_run)
  config = json.load(open(os.path.join(au_run, "config.json")))
  assert config["data"]["task"] == "au" and config["train"]["loss"] == {"name": "sigmoid_bce"}
  names = list(au.DEFAULT_AUS)
  clips = {c.clip_id: c for c in synthetic.load(None, **config["data"]["synthetic"])}
  assert len(rows) == len(clips) == 12
  true = np.asarray([[int(r[f"true_{a}"]) for a in names] for r in rows])
  for r, t in zip(rows, true):      # the synthetic clip's class AUs, inside the set
    np.testing.assert_array_equal(t, au.multi_hot(clips[r["clip"]].action_units, names))
    assert r["fold"] == f"synthetic/{r['subject']}"
  pred = np.asarray([[float(r[f"logit_{a}"]) > 0 for a in names] for r in rows])
  metrics = json.load(open(os.path.join(au_run, "metrics.json")))
  for a, t_N, p_N in zip(names, true.T, pred.T):          # an independent count per AU
    tp, fp, fn = np.sum(t_N & p_N), np.sum(~t_N.astype(bool) & p_N), np.sum(t_N & ~p_N)
    want = None if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
    assert metrics["pooled"]["per_au"][a]["f1"] == pytest.approx(want), a
  defined = [v["f1"] for v in metrics["pooled"]["per_au"].values() if v["f1"] is not None]
  assert metrics["pooled"]["mean_f1"] == pytest.approx(np.mean(defined))
  fold_means = [f["mean_f1"] for f in metrics["per_fold"].values()]
  assert metrics["fold_mean"]["mean_f1"] == pytest.approx(np.mean(fold_means))
  results = open(os.path.join(au_run, "results.md")).read()
  assert "| Aggregation | Dataset | N | mean F1 | AU1 | AU2 |" in results
  assert f"| pooled | all | 12 | {metrics['pooled']['mean_f1']:.4f} |" in results


def test_rescoring_and_resume_agree(au_run, capsys):
  metrics = json.load(open(os.path.join(au_run, "metrics.json")))
  before = open(os.path.join(au_run, "predictions.csv")).read()
  assert score.main([au_run, "--json"]) == 0
  rescored = json.loads(capsys.readouterr().out)
  assert rescored["pooled"] == metrics["pooled"] and rescored["fold_mean"] == metrics["fold_mean"]
  # The same command again resumes the finished run: nothing retrained, nothing changed.
  assert loso.main(["--model", "ststnet", "--dataset", "synthetic", "--task", "au",
                    "--workdir", au_run] + TINY) == 0
  assert open(os.path.join(au_run, "predictions.csv")).read() == before
  assert json.load(open(os.path.join(au_run, "metrics.json")))["pooled"] == metrics["pooled"]


def test_leave_one_dataset_out_on_a_composite(tmp_path):
  root = str(tmp_path)
  testing.make_casme2(os.path.join(root, "CASME2"))
  testing.make_samm(os.path.join(root, "SAMM"))
  testing.make_mmew(os.path.join(root, "MMEW"))
  workdir = str(tmp_path / "run")
  assert loso.main(["--model", "ststnet", "--dataset", "composite", "--task", "au",
                    "--workdir", workdir, f"data.root={root}",
                    'data.options.members=["casme2","samm","mmew"]', "data.folds=lodo",
                    "data.modality=onset_apex_diff", "data.preprocess.size=16",
                    "data.action_units=[4, 12, 1, 2]", "data.cache_dir=",
                    "train.epochs=1", "train.batch_size=8"]) == 0
  rows = _rows(workdir)
  assert len(rows) == _n(testing.CASME2_ROWS) + _n(testing.SAMM_ROWS) + _n(testing.MMEW_ROWS)
  assert all(r["fold"] == r["dataset"] for r in rows)        # each dataset held out once
  metrics = json.load(open(os.path.join(workdir, "metrics.json")))
  assert metrics["au_names"] == ["AU4", "AU12", "AU1", "AU2"]
  assert set(metrics["per_dataset"]) == set(metrics["per_fold"]) == {"casme2", "samm", "mmew"}
  # Leave-one-dataset-out: a dataset's rows are its fold's, so both aggregations agree there.
  for d, part in metrics["per_dataset"].items():
    assert part["pooled"]["mean_f1"] == pytest.approx(metrics["per_fold"][d]["mean_f1"])
  samm = [r for r in rows if r["dataset"] == "samm" and r["clip"] == "006_1_3"]
  assert samm[0]["label"] == "AU12"                          # sheet code R12
  assert "| pooled | samm | 11 |" in open(os.path.join(workdir, "results.md")).read()


def test_composite_emotion_protocol_leave_one_dataset_out(tmp_path):
  root = str(tmp_path)
  testing.make_casme2(os.path.join(root, "CASME2"))
  testing.make_samm(os.path.join(root, "SAMM"))
  workdir = str(tmp_path / "run")
  assert loso.main(["--model", "ststnet", "--dataset", "composite", "--workdir", workdir,
                    f"data.root={root}", 'data.options.members=["casme2","samm"]',
                    "data.folds=lodo", "data.modality=onset_apex_diff",
                    "data.preprocess.size=16", "data.cache_dir=", "train.epochs=1",
                    "train.batch_size=8"]) == 0
  metrics = json.load(open(os.path.join(workdir, "metrics.json")))
  assert metrics["class_names"] == ["negative", "positive", "surprise"]
  # composite_3class keeps what casme2_3class / samm_3class keep (others, Other dropped).
  want = {d: len(labels.get_protocol(f"{d}_3class").apply(
      registry.loader(d)(os.path.join(root, d.upper())))[0]) for d in ("casme2", "samm")}
  assert {d: p["num_predictions"] for d, p in metrics["per_dataset"].items()} == want
  assert set(metrics["per_fold"]) == {"casme2", "samm"}


@pytest.mark.parametrize("overrides, match", [
    (["data.task=au"], "data.task=au: train.loss.name='cross_entropy' is a classification "
                       "loss; set train.loss.name=sigmoid_bce"),
    (["data.task=au", "train.loss.name=sigmoid_bce", "data.folds=split"],
     "data.folds=split stratifies by emotion class"),
    (["train.loss.name=sigmoid_bce"], "is a multi-label loss: set data.task=au"),
    (["data.task=au", "train.loss.name=sigmoid_bce", "data.action_units=[4, 'R4']"],
     "data.action_units: 'R4' names AU4 twice"),
    (["data.task=multi"], "data.task: 'multi' is not one of"),
    (["data.folds=lodoo"], "data.folds: 'lodoo' is not one of"),
])
def test_config_checks(overrides, match):
  with pytest.raises(MerjaxError, match=match):
    config_lib.resolve("ststnet", "synthetic", overrides)


class Echo(nn.Module):
  @nn.compact
  def __call__(self, batch, train):
    return {"logits": batch["image"]}


def test_inner_val_score_is_mean_au_f1():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(9, 4)).astype(np.float32)
  y = (rng.uniform(size=(9, 4)) < 0.4).astype(np.float32)
  y[:, 3] = 0
  logits[:, 3] = -1.0                          # AU 3 neither true nor predicted: no mean
  fns = trainer.FoldFunctions(model=Echo(), loss_fn=None, tx=None, batch_size=1,
                              steps_per_epoch=1, augment={}, augment_roles=(),
                              selection="inner_val", eval_batch_size=4, multilabel=True)
  data = {"inputs": {"image": jnp.asarray(logits)}, "y": jnp.asarray(y)}
  idx = jnp.asarray([1, 3, 4, 6, 8, 0, 0], jnp.int32)      # 5 valid, 2 padding
  got = fns._mean_au_f1({}, {}, data, idx, 5, {})
  want = au_metrics.au_f1(y[[1, 3, 4, 6, 8]], logits[[1, 3, 4, 6, 8]] > 0, list("abcd"))
  assert float(got) == pytest.approx(want["mean_f1"], abs=1e-6)


def test_resume_fingerprint_sees_changed_au_codes():
  from merjax import experiment, rundir
  from merjax.data.records import Clip

  def prepared(codes):
    clips = [Clip("d", "s1", "c1", "happiness", np.zeros((3, 2, 2, 1), np.uint8), 0, 1, 2,
                  codes)]
    names, clips, y, _ = au.label_clips(clips, ["AU4", "AU12"])
    return experiment.PreparedData(clips, names, y, None, None, {}, None, {})

  before = rundir.input_fingerprint(*_fp(experiment, prepared(("AU12",))))
  after = rundir.input_fingerprint(*_fp(experiment, prepared(("AU12", "L4"))))
  same = rundir.input_fingerprint(*_fp(experiment, prepared(("R12", "AU25"))))
  assert rundir.fingerprint_difference(before, after) == (
      "label of 1 clip(s) changed (d/s1/c1: 'AU12' -> 'AU4+AU12')")
  assert rundir.fingerprint_difference(before, same) is None     # the same AUs of the set


def _fp(experiment, prepared):
  return experiment.fingerprinted_clips(prepared), prepared.class_names


def _n(rows):
  """Clip rows of a fixture table (None rows are blank sheet rows)."""
  return sum(r is not None for r in rows)
