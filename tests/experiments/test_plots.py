"""The figures CLI: python -m experiments.plots --workdir DIR."""

import json
import os

import numpy as np
import pytest

from experiments import plots as plots_cli
from merjax.evaluation import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# two seeds x two subjects; class order from metrics.json: neg, pos
ROWS = [  # subject, clip, seed, label, pred
    ("s1", "c1", 0, "pos", "pos"), ("s1", "c2", 0, "neg", "pos"),
    ("s1", "c3", 0, "neg", "neg"), ("s2", "c4", 0, "pos", "neg"),
    ("s1", "c1", 1, "pos", "pos"), ("s1", "c2", 1, "neg", "neg"),
    ("s1", "c3", 1, "neg", "neg"), ("s2", "c4", 1, "pos", "pos"),
]


def _run(tmp_path, rows=ROWS, history=True, test_metrics=False):
  d = tmp_path / "run"
  d.mkdir()
  lines = ["dataset,subject,clip,fold,seed,label,pred,logit_neg,logit_pos"]
  lines += [f"ds,{s},{c},ds/{s},{seed},{lab},{pred},0,0" for s, c, seed, lab, pred in rows]
  (d / "predictions.csv").write_text("\n".join(lines) + "\n")
  (d / "metrics.json").write_text(json.dumps({"class_names": ["pos", "neg"]}))
  if history:
    hist = [{"seed": seed, "fold": f"ds/{s}", "loss": [1.0, 0.8 - 0.1 * seed, 0.5],
             "selected_epoch": 3, "failed": False}
            for seed in (0, 1) for s in ("s1", "s2")]
    hist.append({"seed": 1, "fold": "ds/s3", "loss": [], "selected_epoch": None,
                 "failed": True})
    if test_metrics:
      for h in hist:
        h["test_acc"] = [0.2, 0.4, 0.5]
    (d / "history.json").write_text(json.dumps(hist))
  return str(d)


def _is_png(path):
  with open(path, "rb") as f:
    head = f.read(8)
  return head == PNG_MAGIC and os.path.getsize(path) > 1000


def test_figure_numbers(tmp_path):
  d = plots.run_figure_data(_run(tmp_path))
  assert d["class_names"] == ["pos", "neg"] and d["seeds"] == ["0", "1"]
  # summed over seeds, rows true (pos, neg): pos->pos 3, pos->neg 1; neg->pos 1, neg->neg 3
  np.testing.assert_array_equal(d["confusion"], [[3, 1], [1, 3]])
  # seed 0: s1 2/3, s2 0; seed 1: s1 1, s2 1
  np.testing.assert_allclose(d["subject_acc"], [[2 / 3, 0], [1, 1]])
  np.testing.assert_array_equal(d["subject_n"], [3, 1])
  assert d["pooled_acc"] == pytest.approx((2 / 4 + 1) / 2)
  # seed 0 pooled [[1, 1], [1, 1]] -> UF1 = UAR = 0.5; seed 1 perfect
  assert d["seed_values"]["uf1"] == pytest.approx([0.5, 1.0])
  assert d["seed_values"]["uar"] == pytest.approx([0.5, 1.0])


def test_cli_writes_pngs(tmp_path, capsys):
  run = _run(tmp_path, test_metrics=True)
  assert plots_cli.main(["--workdir", run, "--n-boot", "100"]) == 0
  paths = capsys.readouterr().out.split()
  names = sorted(os.path.basename(p) for p in paths)
  assert names == ["confusion.png", "diagnostic_test_metrics.png", "loss.png",
                   "seed_metrics.png", "subject_accuracy.png"]
  assert all(os.path.dirname(p) == os.path.join(run, "figures") for p in paths)
  assert all(_is_png(p) for p in paths)


def test_single_seed_no_history(tmp_path, capsys):
  run = _run(tmp_path, rows=[r for r in ROWS if r[2] == 0], history=False)
  out = str(tmp_path / "figs")
  assert plots_cli.main(["--workdir", run, "--out", out]) == 0
  assert sorted(os.listdir(out)) == ["confusion.png", "subject_accuracy.png"]
  assert all(_is_png(os.path.join(out, f)) for f in os.listdir(out))


def test_bad_input_exit_2(tmp_path, capsys):
  assert plots_cli.main(["--workdir", str(tmp_path / "missing")]) == 2
  assert "not a run directory" in capsys.readouterr().err
  run = _run(tmp_path, history=False)
  with open(os.path.join(run, "history.json"), "w") as f:
    f.write("{broken")
  assert plots_cli.main(["--workdir", run]) == 2
  err = capsys.readouterr().err.strip()
  assert "history.json" in err and "\n" not in err
