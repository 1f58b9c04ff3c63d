"""experiments.score --format: a peer's log scores like the same predictions as a CSV, and
says which selection rule produced it; metrics.json carries per-class and weighted F1 per
dataset."""

import json

import pytest

from experiments import score

MEGC = "negative,positive,surprise"

# Two subjects, the two-fold example of test_score with codes (0 = negative, 1 = positive):
#   sA: 0->0, 0->0, 1->0   sB: 1->1, 1->1, 0->1
#   pooled C = [[2, 1], [1, 2]] (surprise absent) -> UF1 = UAR = Acc = 2/3
#   per subject UF1 = (0.8 + 0)/2 = 0.4, UAR = 0.5 -> fold-mean UF1 0.4, UAR 0.5
LAST = {"sA": ([0, 0, 0], [0, 0, 1]), "sB": ([1, 1, 1], [1, 1, 0])}    # (pred, true)
BEST = {"sA": ([0, 0, 1], [0, 0, 1]), "sB": ([1, 1, 1], [1, 1, 0])}    # 5 of 6 correct


def _ststnet_log(tmp_path, data=LAST):
  lines = ["lr=0.000050, epochs=800, device=cpu", ""]
  for subject, (pred, true) in data.items():
    lines += [f"Subject: {subject}", f"Predicted    : {pred}", f"Ground Truth : {true}",
              "Evaluation until this subject: ", "UF1: 0.4 | UAR: 0.5"]
  lines += ["Final Evaluation: ", "Total Time Taken: 3.2"]
  path = tmp_path / "ststnet.log"
  path.write_text("\n".join(lines) + "\n")
  return str(path)


def _csv(tmp_path, data=LAST, dataset=None):
  names = MEGC.split(",")
  head = "subject,label,pred" + (",dataset" if dataset else "")
  rows = [head] + [f"{s},{names[t]},{names[p]}" + (f",{dataset}" if dataset else "")
                   for s, (pred, true) in data.items() for p, t in zip(pred, true)]
  path = tmp_path / "preds.csv"
  path.write_text("\n".join(rows) + "\n")
  return str(path)


def _json(capsys, argv):
  assert score.main(argv + ["--json"]) == 0
  return json.loads(capsys.readouterr().out)


def test_ststnet_python_log_scores_like_the_csv(tmp_path, capsys):
  log = _json(capsys, ["--format", "ststnet-python", _ststnet_log(tmp_path)])
  csv = _json(capsys, [_csv(tmp_path), "--classes", MEGC])
  assert log.pop("selection") == "last" and log.pop("oracle") is False
  assert log.pop("source")["format"] == "ststnet-python"
  assert log == csv
  assert log["pooled"]["uf1"] == pytest.approx(2 / 3)
  assert log["pooled"]["uar"] == pytest.approx(2 / 3)
  assert log["fold_mean"]["uf1"] == pytest.approx(0.4)
  assert log["fold_mean"]["uar"] == pytest.approx(0.5)
  assert log["per_fold"]["sA"]["uf1"] == pytest.approx(0.4)


def test_htnet_log_is_labelled_oracle(tmp_path, capsys):
  lines = []
  for s in LAST:
    lines += [f"Subject: {s}", f"Predicted    : {LAST[s][0]}",
              f"Best Predicted    : {BEST[s][0]}", f"Ground Truth : {BEST[s][1]}"]
  path = tmp_path / "htnet.log"
  path.write_text("\n".join(lines) + "\n")
  best = _json(capsys, ["--format", "htnet", str(path)])
  assert best["selection"] == "oracle" and best["oracle"] is True
  assert best["pooled"]["acc"] == pytest.approx(5 / 6)
  last = _json(capsys, ["--format", "htnet-last", str(path)])
  assert last["selection"] == "last" and last["pooled"]["acc"] == pytest.approx(4 / 6)
  assert score.main(["--format", "htnet", str(path)]) == 0
  out = capsys.readouterr().out
  assert "| pooled [ORACLE] | all | 6 |" in out
  assert "Selection (htnet log): oracle [ORACLE]: HTNet's 'Best Predicted'" in out


def test_matlab_log_has_datasets_and_clips(tmp_path, capsys):
  text = "casme2 sA\nEP01 0 0\nEP02 0 0\nEP03 1 0\ncasme2 sB\nEP01 1 1\nEP02 1 1\nEP03 0 1\n"
  path = tmp_path / "STSTNet_logfile.txt"
  path.write_text(text)
  log = _json(capsys, ["--format", "ststnet-matlab", str(path)])
  csv = _json(capsys, [_csv(tmp_path, dataset="casme2"), "--classes", MEGC])
  for key in ("selection", "oracle", "source"):
    log.pop(key)
  assert log == csv
  assert sorted(log["per_fold"]) == ["casme2/sA", "casme2/sB"]
  assert log["per_dataset"]["casme2"]["pooled"]["uf1"] == pytest.approx(2 / 3)


def test_malformed_log_is_one_line_error(tmp_path, capsys):
  path = tmp_path / "ststnet.log"
  path.write_text("Subject: sA\nPredicted : [0, 1]\nGround Truth : [0, 1, 1]\n")
  assert score.main(["--format", "ststnet-python", str(path)]) == 2
  err = capsys.readouterr().err
  assert err.startswith(f"error: {path} line 3: subject sA: 3 ground truth labels for 2 ")
  assert err.count("\n") == 1


def test_metrics_json_per_class_and_wf1_per_dataset(tmp_path, capsys):
  # casme2: true 0 0 1 2 1 / pred 0 1 1 2 0 -> C = [[1,1,0],[1,1,0],[0,0,1]]
  #   negative and positive P = R = F1 = 1/2, surprise 1/1/1; UF1 2/3, wf1 (1+1+1)/5
  # smic: true 0 2 1 / pred 0 0 1 -> negative P 1/2 R 1 F1 2/3, positive 1/1/1,
  #   surprise P 0 R 0 F1 0; UF1 5/9, wf1 (2/3 + 1 + 0)/3
  rows = ["dataset,subject,clip,label,pred",
          "casme2,sub01,c1,0,0", "casme2,sub01,c2,0,1", "casme2,sub01,c3,1,1",
          "casme2,sub02,c4,2,2", "casme2,sub02,c5,1,0",
          "smic,s01,c6,0,0", "smic,s01,c7,2,0", "smic,s01,c8,1,1"]
  path = tmp_path / "p.csv"
  path.write_text("\n".join(rows) + "\n")
  s = _json(capsys, [str(path), "--classes", MEGC])
  casme2 = s["per_dataset"]["casme2"]["pooled"]
  assert [(c["precision"], c["recall"], c["f1"]) for c in casme2["per_class"]] == [
      (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), (1.0, 1.0, 1.0)]
  assert casme2["uf1"] == pytest.approx(2 / 3) and casme2["wf1"] == pytest.approx(3 / 5)
  smic = s["per_dataset"]["smic"]["pooled"]
  assert [(c["precision"], c["recall"]) for c in smic["per_class"]] == [
      (0.5, 1.0), (1.0, 1.0), (0.0, 0.0)]
  assert [c["f1"] for c in smic["per_class"]] == pytest.approx([2 / 3, 1.0, 0.0])
  assert smic["uf1"] == pytest.approx(5 / 9) and smic["wf1"] == pytest.approx(5 / 9)
  assert "wf1" in s["per_dataset"]["smic"]["fold_mean"] and "wf1" in s["definitions"]
  assert score.main([str(path), "--classes", MEGC]) == 0
  assert "| UAR | WAR | WF1 | MacroP |" in capsys.readouterr().out
