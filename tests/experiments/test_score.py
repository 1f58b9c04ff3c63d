"""The rescoring CLI: python -m experiments.score FILE.csv [--json]."""

import json
import os
import subprocess
import sys

import pytest

from experiments import score

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _write(tmp_path, text, name="preds.csv"):
  path = tmp_path / name
  path.write_text(text)
  return str(path)


def _json(capsys, path):
  assert score.main([path, "--json"]) == 0
  return json.loads(capsys.readouterr().out)


# The two-fold example of test_aggregate with names (neg < pos -> 0, 1) and no
# fold column, so fold = subject:
#   sA: neg->neg, neg->neg, pos->neg  (UF1 0.4, UAR 1/2)
#   sB: pos->pos, pos->pos, neg->pos  (UF1 0.4, UAR 1/2)
#   pooled c0 [2 1], c1 [1 2] -> UF1 = UAR = acc = 2/3
NAMES_CSV = """subject,label,pred
sA,neg,neg
sA,neg,neg
sA,pos,neg
sB,pos,pos
sB,pos,pos
sB,neg,pos
"""


def test_names_fold_is_subject(tmp_path, capsys):
  s = _json(capsys, _write(tmp_path, NAMES_CSV))
  assert s["class_names"] == ["neg", "pos"]
  assert s["num_folds"] == 2 and s["num_predictions"] == 6
  assert s["pooled"]["uf1"] == pytest.approx(2 / 3)
  assert s["pooled"]["confusion"] == [[2, 1], [1, 2]]
  assert s["fold_mean"]["uf1"] == pytest.approx(0.4)
  assert s["fold_mean"]["uar"] == pytest.approx(0.5)


def test_class_set_is_union_of_label_and_pred_names(tmp_path, capsys):
  # "sur" only ever predicted: classes [neg, pos, sur]
  # true neg pos / pred sur pos -> recall over {neg, pos}: [0, 1] -> UAR 1/2
  # F1 over {neg, pos, sur}: [0, 1, 0] -> UF1 1/3
  path = _write(tmp_path, "subject,label,pred\ns1,neg,sur\ns1,pos,pos\n")
  s = _json(capsys, path)
  assert s["class_names"] == ["neg", "pos", "sur"]
  assert s["pooled"]["uar"] == pytest.approx(0.5)
  assert s["pooled"]["uf1"] == pytest.approx(1 / 3)


def test_integers_with_dataset_fold_seed(tmp_path, capsys):
  # seed 0 = the two-fold example, seed 1 = all correct; dataset D only.
  rows = ["subject,label,pred,dataset,fold,seed"]
  data = [("a", 0, 0, "A"), ("a", 0, 0, "A"), ("a", 1, 0, "A"),
          ("b", 1, 1, "B"), ("b", 1, 1, "B"), ("b", 0, 1, "B")]
  for subj, lab, pred, fold in data:
    rows.append(f"{subj},{lab},{pred},D,{fold},0")
  for subj, lab, _, fold in data:
    rows.append(f"{subj},{lab},{lab},D,{fold},1")
  s = _json(capsys, _write(tmp_path, "\n".join(rows) + "\n"))
  assert s["class_names"] is None and s["num_classes"] == 2
  assert s["num_seeds"] == 2
  assert s["pooled"]["acc"] == pytest.approx(5 / 6)
  assert s["fold_mean"]["uf1"] == pytest.approx(0.7)
  assert s["per_dataset"]["D"]["pooled"]["uf1"] == pytest.approx(
      (2 / 3 + 1) / 2)


def test_readable_table(tmp_path, capsys):
  assert score.main([_write(tmp_path, NAMES_CSV)]) == 0
  out = capsys.readouterr().out
  assert "| pooled | all | 6 |" in out and "| fold-mean | all | 6 |" in out
  assert "| neg | 3 | 3 |" in out


@pytest.mark.parametrize("text,why", [
    ("", "empty file"),
    ("subject,label,pred\n", "no prediction rows"),
    ("subject,label\ns1,neg\n", "missing column(s) pred"),
    ("subject,label,pred\ns1,neg\n", "2 fields"),
    ("subject,label,pred\ns1,,neg\n", "empty 'label'"),
    ("subject,label,pred\ns1,neg,0\n", "one form"),
    ("subject,label,pred\ns1,0,-1\n", "negative class id"),
])
def test_bad_input_one_line_exit_2(tmp_path, capsys, text, why):
  path = _write(tmp_path, text)
  assert score.main([path]) == 2
  err = capsys.readouterr().err
  assert err.startswith(path + ":") or err.startswith(path + " line")
  assert why in err
  assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_exit_2(tmp_path, capsys):
  path = str(tmp_path / "nope.csv")
  assert score.main([path]) == 2
  assert capsys.readouterr().err.startswith(path + ": cannot read")


def test_module_entry_point_exit_status(tmp_path):
  path = _write(tmp_path, "subject,label\ns1,neg\n")
  r = subprocess.run([sys.executable, "-m", "experiments.score", path],
                     cwd=ROOT, capture_output=True, text=True, timeout=60)
  assert r.returncode == 2
  assert r.stderr.strip().splitlines() == [
      f"{path}: missing column(s) pred (header: subject,label)"]
