"""experiments.show_attention on a finished MEGANet run's saved fold model."""

import csv
import json
import os

from experiments import loso, show_attention
from merjax.configs import meganet


def test_attention_from_a_saved_fold_model(tmp_path):
  run = str(tmp_path / "run")
  tiny = meganet.TINY["*"] + meganet.TINY["meganet"] + [
      "data.cache_dir=", "data.standardize=true"]
  assert loso.main(["--model", "meganet", "--workdir", run] + tiny) == 0
  out = str(tmp_path / "pictures")
  assert show_attention.main(["--workdir", run, "--fold", "synthetic/s02", "--out", out,
                              "--per-class", "2"]) == 0
  assert os.path.getsize(os.path.join(out, "attention.png")) > 10_000
  info = json.load(open(os.path.join(out, "attention.json")))
  assert len(info["clips"]) == 3 * 2
  # The loaded model predicts the held-out subject's clips exactly as the run did.
  run_preds = {(r["subject"], r["clip"]): r["pred"]
               for r in csv.DictReader(open(os.path.join(run, "predictions.csv")))}
  shown = [(key, pred) for key, pred in zip(info["clips"], info["preds"]) if "s02" in str(key)]
  assert shown
  for key, pred in shown:
    subject, clip = str(key).split("/")[-2:]
    assert run_preds[subject, clip] == pred
  assert all(lo >= 0.0 and hi <= 1.0 for lo, hi in info["map_range"])   # sigmoid maps
