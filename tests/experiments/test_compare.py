"""The paired comparison CLI: python -m experiments.compare RUN_A RUN_B [--json]."""

import json

import pytest
import scipy.stats

from experiments import compare

HEADER = "dataset,subject,clip,fold,seed,label,pred\n"


def _run(tmp_path, name, correct):
  """Run dir: subjects s1..s4 with 4 clips each (labels a, b, a, b); clip i of
  subject j is predicted right iff correct[j][i]."""
  d = tmp_path / name
  d.mkdir()
  lines = [HEADER]
  for j, row in enumerate(correct):
    for i, ok in enumerate(row):
      label = "ab"[i % 2]
      pred = label if ok else "ab"[1 - i % 2]
      lines.append(f"ds,s{j + 1},s{j + 1}_c{i},ds/s{j + 1},0,{label},{pred}\n")
  (d / "predictions.csv").write_text("".join(lines))
  return str(d)


A = [[1, 1, 1, 1], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0]]   # acc 1, .5, .5, .5
B = [[1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 1, 0], [1, 1, 0, 0]]   # acc .75, 0, .25, .5


def test_json_numbers(tmp_path, capsys):
  a, b = _run(tmp_path, "a", A), _run(tmp_path, "b", B)
  assert compare.main([a, b, "--json", "--n-boot", "300", "--seed", "1"]) == 0
  out = json.loads(capsys.readouterr().out)
  assert out["num_subjects"] == 4 and out["num_clips"] == 16
  # pooled acc: A 10/16, B 6/16
  assert out["pooled"]["acc"]["a"] == pytest.approx(10 / 16)
  assert out["pooled"]["acc"]["b"] == pytest.approx(6 / 16)
  assert out["pooled"]["acc"]["diff"] == pytest.approx(4 / 16)
  assert out["pooled"]["acc"]["ci_low"] <= 0.25 <= out["pooled"]["acc"]["ci_high"]
  # pooled A: confusion [[6, 2], [4, 4]] -> recall .75, .5: UAR .625;
  # F1 a = 12/18, F1 b = 8/14: UF1 = (2/3 + 4/7) / 2 = 13/21
  assert out["pooled"]["uar"]["a"] == pytest.approx(0.625)
  assert out["pooled"]["uf1"]["a"] == pytest.approx(13 / 21)
  acc = out["per_subject"]["acc"]
  assert acc["mean_a"] == pytest.approx(0.625) and acc["mean_b"] == pytest.approx(0.375)
  ref_w = scipy.stats.wilcoxon([1, .5, .5, .5], [.75, 0, .25, .5])
  ref_t = scipy.stats.ttest_rel([1, .5, .5, .5], [.75, 0, .25, .5])
  assert acc["wilcoxon"]["pvalue"] == pytest.approx(ref_w.pvalue)
  assert acc["wilcoxon"]["statistic"] == pytest.approx(ref_w.statistic)
  assert acc["ttest"]["statistic"] == pytest.approx(ref_t.statistic)
  assert acc["ttest"]["pvalue"] == pytest.approx(ref_t.pvalue)
  # s2: A [[2, 0], [2, 0]] -> acc .5, UAR .5, UF1 (4/6 + 0)/2; B all wrong -> 0
  s2 = dict(out["subjects"][1])
  assert s2.pop("subject") == "ds/s2"
  assert s2 == pytest.approx({"n": 4, "acc_a": 0.5, "acc_b": 0.0, "uf1_a": 1 / 3,
                              "uf1_b": 0.0, "uar_a": 0.5, "uar_b": 0.0})
  # same seed -> same CI
  assert compare.main([a, b, "--json", "--n-boot", "300", "--seed", "1"]) == 0
  assert json.loads(capsys.readouterr().out) == out


def test_text_report_and_csv_paths(tmp_path, capsys):
  a, b = _run(tmp_path, "a", A), _run(tmp_path, "b", B)
  assert compare.main([a + "/predictions.csv", b, "--n-boot", "100"]) == 0
  text = capsys.readouterr().out
  assert "UF1" in text and "Wilcoxon" in text and "4 subjects, 16 clips" in text
  assert "0.2500" in text     # pooled acc A - B


def test_same_run_json_is_strict(tmp_path, capsys):
  a = _run(tmp_path, "a", A)
  assert compare.main([a, a, "--json", "--n-boot", "50"]) == 0
  out = json.loads(capsys.readouterr().out)
  assert out["per_subject"]["acc"]["ttest"]["pvalue"] is None      # NaN -> null
  assert out["per_subject"]["acc"]["wilcoxon"]["pvalue"] == 1.0


def test_different_clips_exit_2(tmp_path, capsys):
  a = _run(tmp_path, "a", A)
  b = _run(tmp_path, "b", B[:3])
  assert compare.main([a, b]) == 2
  err = capsys.readouterr().err.strip()
  assert "not the same folds/clips" in err and "\n" not in err


def test_missing_run_exit_2(tmp_path, capsys):
  assert compare.main([str(tmp_path / "nope"), str(tmp_path / "nope2")]) == 2
  assert "no predictions.csv" in capsys.readouterr().err
