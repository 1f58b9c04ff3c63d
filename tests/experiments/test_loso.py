"""experiments.loso end to end on tiny synthetic and manifest datasets."""

import csv
import json
import os

import cv2
import numpy as np
import pytest

from experiments import describe, loso

TINY = ["data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=4",
        "data.synthetic.size=32", "data.synthetic.min_frames=8", "data.synthetic.max_frames=10",
        "data.synthetic.num_classes=3", "data.modality=onset_apex_diff",
        "train.epochs=2", "train.batch_size=8"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("run"))
  assert loso.main(["--model", "ststnet", "--dataset", "synthetic", "--workdir", workdir,
                    "--seeds", "2"] + TINY) == 0
  return workdir


def test_run_directory_contents(run_dir):
  for name in ("config.json", "predictions.csv", "metrics.json", "results.md", "results.csv",
               "history.json"):
    assert os.path.isfile(os.path.join(run_dir, name)), name
  config = json.load(open(os.path.join(run_dir, "config.json")))
  assert config["train"]["seeds"] == 2 and config["train"]["epochs"] == 2
  assert config["data"]["inputs"] == {"image": "onset_apex_diff"}


def test_predictions_cover_every_clip_once_per_seed(run_dir):
  rows = list(csv.DictReader(open(os.path.join(run_dir, "predictions.csv"))))
  assert {"dataset", "subject", "clip", "fold", "seed", "label", "pred"} <= set(rows[0])
  assert len(rows) == 2 * 3 * 4                      # seeds x subjects x clips
  for seed in ("0", "1"):
    clips = [r["clip"] for r in rows if r["seed"] == seed]
    assert len(clips) == len(set(clips)) == 12
  # LOSO: each clip is predicted by the fold that holds out its own subject.
  assert all(r["fold"] == f"{r['dataset']}/{r['subject']}" for r in rows)


def test_metrics_json_structure_and_rescoring_agree(run_dir, capsys):
  metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
  for agg in ("pooled", "fold_mean"):
    assert set(metrics[agg]) >= {"acc", "uf1", "uar", "war"}
  assert set(metrics["seeds"]) == {"0", "1"}
  seed_uf1 = [metrics["seeds"][s]["pooled"]["uf1"] for s in ("0", "1")]
  assert metrics["pooled"]["uf1"] == pytest.approx(np.mean(seed_uf1))
  assert set(metrics["per_dataset"]) == {"synthetic"}
  from experiments import score
  assert score.main([os.path.join(run_dir, "predictions.csv"), "--json"]) == 0
  rescored = json.loads(capsys.readouterr().out)
  assert rescored["pooled"]["uf1"] == pytest.approx(metrics["pooled"]["uf1"])
  assert rescored["fold_mean"]["uar"] == pytest.approx(metrics["fold_mean"]["uar"])


def test_manifest_dataset_runs_loso_with_per_dataset_columns(tmp_path):
  rng = np.random.default_rng(0)
  rows = []
  for d, dataset in enumerate(("casme2", "samm")):
    for s in range(2):
      for c in range(4):
        label = ("negative", "positive")[c % 2]
        image = np.full((16, 16, 3), 60 + 120 * (c % 2), np.uint8) + rng.integers(
            0, 20, (16, 16, 3), dtype=np.uint8)
        path = f"img/{dataset}_{s}_{c}.png"
        os.makedirs(tmp_path / "img", exist_ok=True)
        cv2.imwrite(str(tmp_path / path), image)
        rows.append([dataset, f"sub{s}", f"clip{c}", label, path])
  with open(tmp_path / "m.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["dataset", "subject", "clip", "label", "path"])
    w.writerows(rows)
  workdir = str(tmp_path / "run")
  assert loso.main(["--model", "ststnet", "--dataset", "manifest", "--workdir", workdir,
                    f"data.manifest={tmp_path / 'm.csv'}", "data.modality=image",
                    "train.epochs=1", "train.batch_size=8"]) == 0
  metrics = json.load(open(os.path.join(workdir, "metrics.json")))
  assert metrics["num_folds"] == 4                   # 2 datasets x 2 subjects
  assert set(metrics["per_dataset"]) == {"casme2", "samm"}
  assert metrics["per_dataset"]["samm"]["pooled"]["acc"] is not None


def test_bad_input_gives_one_line_error(tmp_path, capsys):
  assert loso.main(["--model", "ststnet", "--dataset", "manifest", "--workdir",
                    str(tmp_path / "r"), f"data.manifest={tmp_path / 'missing.csv'}"]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert err == [f"error: {tmp_path / 'missing.csv'}: manifest not found"]
  assert loso.main(["--model", "nosuchmodel", "--dataset", "synthetic"]) == 2
  assert "--model nosuchmodel: no config merjax/configs/nosuchmodel.py" in capsys.readouterr().err


def test_describe_reports_ststnet(capsys):
  assert describe.main(["--model", "ststnet", "--num-classes", "3", "--json"]) == 0
  info = json.loads(capsys.readouterr().out)
  assert info["params"] == 1683
  assert info["inputs"] == {"image": [1, 28, 28, 3]}
  assert info["outputs"] == {"logits": [1, 3]}
