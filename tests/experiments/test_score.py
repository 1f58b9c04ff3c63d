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
  assert err.startswith(f"error: {path}:") or err.startswith(f"error: {path} line")
  assert why in err
  assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_exit_2(tmp_path, capsys):
  path = str(tmp_path / "nope.csv")
  assert score.main([path]) == 2
  assert capsys.readouterr().err.startswith(f"error: {path}: cannot read")


def test_module_entry_point_exit_status(tmp_path):
  path = _write(tmp_path, "subject,label\ns1,neg\n")
  r = subprocess.run([sys.executable, "-m", "experiments.score", path],
                     cwd=ROOT, capture_output=True, text=True, timeout=60)
  assert r.returncode == 2
  assert r.stderr.strip().splitlines() == [
      f"error: {path}: missing column(s) pred (header: subject,label)"]


# --- what would silently become an extra class, or count twice (#17.7) ---------------------

CLASSES = "happiness,disgust,others"


def _refused(tmp_path, capsys, text, *args):
  """score.main on `text` must exit 2 with one line; returns it."""
  path = _write(tmp_path, text)
  assert score.main([path, *args]) == 2
  err = capsys.readouterr().err
  assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("error: ")
  return err


@pytest.mark.parametrize("bad,why", [
    ("hapiness", "line 3: label 'hapiness' is not a class (classes: happiness, disgust, "
                 "others); did you mean 'happiness'?"),
    ("Happiness", "line 3: label 'Happiness' is not a class (classes: happiness, disgust, "
                  "others); did you mean 'happiness'?"),
    ("nan", "line 3: label 'nan' is not a class"),
    ("2", "line 3: label '2' is not a class"),
])
def test_classes_option_refuses_labels_outside_the_list(tmp_path, capsys, bad, why):
  text = f"subject,label,pred\ns1,happiness,others\ns1,{bad},disgust\ns2,others,others\n"
  assert why in _refused(tmp_path, capsys, text, "--classes", CLASSES)


def test_classes_option_codes_and_keeps_unpredicted_classes(tmp_path, capsys):
  path = _write(tmp_path, "subject,label,pred\ns1,happiness,happiness\ns2,others,happiness\n")
  assert score.main([path, "--json", "--classes", CLASSES]) == 0
  s = json.loads(capsys.readouterr().out)
  assert s["class_names"] == ["happiness", "disgust", "others"] and s["num_classes"] == 3
  assert s["pooled"]["confusion"] == [[1, 0, 0], [0, 0, 0], [1, 0, 0]]


@pytest.mark.parametrize("bad,why", [
    ("hapiness", "label 'hapiness' and 'happiness' look like one class spelt two ways; "
                 "pass the class list (--classes)"),
    ("Happiness", "label 'Happiness' differs only in case from 'happiness' (line 2)"),
    ("nan", "label 'nan' is a missing value, not a class name"),
    ("3", "label '3' is an integer among class names"),
])
def test_without_a_class_list_suspicious_names_are_refused(tmp_path, capsys, bad, why):
  text = (f"subject,label,pred\ns1,happiness,happiness\ns1,{bad},happiness\n"
          f"s2,happiness,others\ns2,others,others\n")
  err = _refused(tmp_path, capsys, text)
  assert "line 3: " + why in err


def test_duplicate_rows_are_refused_naming_both_lines(tmp_path, capsys):
  text = ("subject,clip,seed,fold,label,pred\ns1,c1,0,s1,neg,neg\ns1,c2,0,s1,pos,neg\n"
          "s1,c1,0,s1,neg,neg\n")
  err = _refused(tmp_path, capsys, text)
  assert ("line 4: duplicate prediction (subject s1 clip c1 seed 0 fold s1; also line 2)"
          in err)
  # The same clip under another seed or fold is not a duplicate.
  ok = _write(tmp_path, text.replace("s1,c1,0,s1,neg,neg\n", "s1,c1,1,s1,neg,neg\n", 1),
              "ok.csv")
  assert score.main([ok, "--json"]) == 0


RUN_CSV = ("dataset,subject,clip,fold,seed,label,pred,logit_pos,logit_neg\n"
           "d,s1,c1,d/s1,0,pos,pos,1,0\nd,s2,c2,d/s2,0,neg,pos,1,0\n")


def test_run_directory_takes_the_class_list_from_the_logit_columns(tmp_path, capsys):
  run = tmp_path / "run"
  run.mkdir()
  (run / "predictions.csv").write_text(RUN_CSV)
  assert score.main([str(run), "--json"]) == 0
  s = json.loads(capsys.readouterr().out)
  assert s["class_names"] == ["pos", "neg"]           # the run's order, not sorted
  (run / "predictions.csv").write_text(RUN_CSV + "d,s3,c3,d/s3,0,Neg,pos,1,0\n")
  assert score.main([str(run)]) == 2
  err = capsys.readouterr().err
  assert "predictions.csv line 4: label 'Neg' is not a class (classes: pos, neg)" in err
  assert score.main([str(tmp_path)]) == 2
  assert "no predictions.csv" in capsys.readouterr().err


def test_classes_option_must_match_the_run(tmp_path, capsys):
  path = _write(tmp_path, RUN_CSV)
  err = _refused(tmp_path, capsys, RUN_CSV, "--classes", "neg,pos")
  assert "the class list neg, pos differs from the file's logit_ columns (pos, neg)" in err
  assert score.main([path, "--classes", "pos,neg"]) == 0
