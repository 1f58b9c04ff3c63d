"""experiments.replay on per-subject STSTNet checkpoints (legacy torch.save format, random
weights) over a manifest of per-subject flow images: the predictions equal those of the
official code's network, fed as the official code feeds it (cv2.imread: BGR, raw 0-255)."""

import csv
import json
import os

import cv2
import numpy as np
import pytest

import torch_refs as R
from experiments import replay

torch = R.torch
SUBJECTS = ("sub01", "s02", "006")
LABELS = ("negative", "positive", "surprise")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
  """(manifest, weights pattern, {clip: torch logits}) of a tiny published-weights setup."""
  root = tmp_path_factory.mktemp("replay")
  rng = np.random.default_rng(0)
  rows, reference = [], {}
  (root / "weights").mkdir()
  for s, subject in enumerate(SUBJECTS):
    torch.manual_seed(s)
    net = R.randomize_bn(R.STSTNetTorch(), seed=s).eval()
    torch.save(net.state_dict(), str(root / "weights" / f"{subject}.pth"),
               _use_new_zipfile_serialization=False)
    for c in range(4):
      image = rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)
      rel = f"{subject}/{c}.png"
      os.makedirs(root / subject, exist_ok=True)
      cv2.imwrite(str(root / rel), image)
      rows.append({"subject": subject, "clip": f"{subject}_{c}", "label": LABELS[(s + c) % 3],
                   "path": rel})
      x = cv2.imread(str(root / rel)).astype(np.float32)[None]     # BGR, 0-255, as main.py
      reference[f"{subject}_{c}"] = R.forward_numpy(net, x)[0]
  manifest = root / "manifest.csv"
  with open(manifest, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["subject", "clip", "label", "path"])
    w.writeheader()
    w.writerows(rows)
  return str(manifest), str(root / "weights" / "{subject}.pth"), reference


def _args(manifest, pattern, workdir):
  return ["--model", "ststnet", "--dataset", "manifest", "--weights", pattern,
          "--workdir", workdir, f"data.manifest={manifest}", "data.modality=image",
          "data.input_scale=255", "data.channel_order=bgr", "data.preprocess.size=28",
          "data.preprocess.output_size=28", "data.cache_dir="]


def test_replay_reproduces_the_torch_reference(published, tmp_path):
  manifest, pattern, reference = published
  workdir = str(tmp_path / "run")
  assert replay.main(_args(manifest, pattern, workdir)) == 0
  for name in ("config.json", "predictions.csv", "metrics.json", "results.md", "replay.json"):
    assert os.path.isfile(os.path.join(workdir, name)), name
  rows = list(csv.DictReader(open(os.path.join(workdir, "predictions.csv"))))
  assert len(rows) == len(reference) == 12
  for r in rows:
    want = reference[r["clip"]]
    got = np.asarray([float(r[f"logit_{c}"]) for c in LABELS])
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max() + 1e-5, r["clip"]
    assert r["pred"] == LABELS[int(np.argmax(want))]
    assert r["fold"].endswith(r["subject"])
  record = json.load(open(os.path.join(workdir, "replay.json")))
  assert {f["subject"] for f in record["folds"]} == set(SUBJECTS)
  metrics = json.load(open(os.path.join(workdir, "metrics.json")))
  assert metrics["num_folds"] == 3


def test_a_missing_subject_file_names_the_subject_and_the_path(published, tmp_path, capsys):
  manifest, pattern, _ = published
  missing = pattern.replace("{subject}", "{subject}_v2")
  assert replay.main(_args(manifest, missing, str(tmp_path / "run"))) == 2
  err = capsys.readouterr().err.strip().splitlines()[-1]
  assert err.startswith("error: subject ") and "_v2.pth" in err
