"""Peer log readers: a log written in each format from known predictions parses to the
same Predictions (and summary) as those predictions written as a predictions CSV; bad
lines are one-line errors naming file and line."""

import json
import os

import numpy as np
import pytest

from merjax.errors import MerjaxError
from merjax.evaluation import aggregate, peer_logs

NAMES = list(peer_logs.MEGC_CLASSES)

# (dataset, subject, [(clip, true, last-epoch pred, best-epoch pred)]); codes 0/1/2 =
# negative/positive/surprise.
_RNG = np.random.default_rng(0)
SUBJECTS = [("casme2", "sub01"), ("casme2", "sub02"), ("smic", "s01"), ("samm", "006")]
DATA = [(d, s, [(f"{s}_c{i}", int(t), int(p), int(b)) for i, (t, p, b) in
                enumerate(_RNG.integers(0, 3, size=(n, 3)))])
        for (d, s), n in zip(SUBJECTS, (5, 3, 7, 4))]


def _csv(tmp_path, best=False, with_dataset=False):
  """The same predictions as a predictions CSV (class names)."""
  head = "dataset,subject,clip,label,pred" if with_dataset else "subject,label,pred"
  rows = [head]
  for d, s, items in DATA:
    for clip, t, p, b in items:
      cells = [s, NAMES[t], NAMES[b if best else p]]
      rows.append(",".join(([d] + cells[:1] + [clip] + cells[1:]) if with_dataset else cells))
  path = tmp_path / "preds.csv"
  path.write_text("\n".join(rows) + "\n")
  return str(path)


def _ststnet_python(tmp_path):
  """STSTNet main.py's stdout (print('Predicted    :', list) etc.)."""
  out = ["lr=0.000050, epochs=800, device=cpu", ""]
  for _, s, items in DATA:
    out += [f"Subject: {s}", f"Predicted    : {[p for _, _, p, _ in items]}",
            f"Ground Truth : {[t for _, t, _, _ in items]}",
            "Evaluation until this subject: ", "UF1: 0.5 | UAR: 0.5"]
  out += ["Final Evaluation: ", "Total Time Taken: 12.5"]
  path = tmp_path / "ststnet.log"
  path.write_text("\n".join(out) + "\n")
  return str(path)


def _htnet(tmp_path):
  """HTNet's stdout: last-epoch 'Predicted', best-epoch 'Best Predicted', 'Ground Truth'."""
  out = ["lr=0.000050, epochs=800, device=cuda", "['sub01', 'sub02', 's01', '006']"]
  for _, s, items in DATA:
    out += [f"Subject: {s}", f"Predicted    : {[p for _, _, p, _ in items]}",
            f"Best Predicted    : {[b for _, _, _, b in items]}",
            f"Ground Truth : {[t for _, t, _, _ in items]}",
            "Evaluation until this subject: ", "UF1: 0.5 | UAR: 0.5",
            "best UF1: 0.6 | best UAR: 0.6"]
  path = tmp_path / "htnet.log"
  path.write_text("\n".join(out) + "\n")
  return str(path)


def _ststnet_matlab(tmp_path):
  """STSTNet_logfile.txt: 'dataset subject' then 'filename gt pred' lines."""
  out = []
  for d, s, items in DATA:
    out.append(f"{d} {s}")
    out += [f"{clip} {t} {p}" for clip, t, p, _ in items]
  path = tmp_path / "ststnet_matlab.txt"
  path.write_text("\n".join(out))              # the published file has no final newline
  return str(path)


def _causalnet(tmp_path):
  """results/SUBJECT_acc.txt: best epoch, best test accuracy, [pred, true] pairs."""
  folder = tmp_path / "results"
  folder.mkdir()
  for _, s, items in DATA:
    pairs = [[b, t] for _, t, _, b in items]
    acc = sum(b == t for _, t, _, b in items) / len(items)
    (folder / f"{s}_acc.txt").write_text(
        f"best epoach: 17\nbest acc: {acc}\nmatrix_acc: {pairs}\n")
  return str(folder)


def _same(a: aggregate.Predictions, b: aggregate.Predictions):
  np.testing.assert_array_equal(a.label_N, b.label_N)
  np.testing.assert_array_equal(a.pred_N, b.pred_N)
  assert (a.subject_N, a.fold_N, a.dataset_N, a.num_classes, a.class_names) == (
      b.subject_N, b.fold_N, b.dataset_N, b.num_classes, b.class_names)
  sa, sb = aggregate.summarize_predictions(a), aggregate.summarize_predictions(b)
  assert json.dumps(sa, sort_keys=True) == json.dumps(sb, sort_keys=True)


@pytest.mark.parametrize("fmt,write,best,with_dataset,selection", [
    ("ststnet-python", _ststnet_python, False, False, "last"),
    ("htnet", _htnet, True, False, "oracle"),
    ("htnet-last", _htnet, False, False, "last"),
    ("ststnet-matlab", _ststnet_matlab, False, True, "last"),
])
def test_log_parses_to_the_csv_predictions(tmp_path, fmt, write, best, with_dataset,
                                           selection):
  preds, source = peer_logs.read_peer_log(write(tmp_path), fmt)
  _same(preds, aggregate.read_predictions_csv(_csv(tmp_path, best, with_dataset), NAMES))
  assert source["selection"] == selection and source["format"] == fmt
  assert preds.num_classes == 3 and len(preds.label_N) == 19
  assert (preds.dataset_N is not None) == with_dataset


def test_causalnet_folder_parses_to_the_csv_predictions(tmp_path):
  # CausalNet's files are read in sorted subject order; the CSV rows in that order.
  preds, source = peer_logs.read_peer_log(_causalnet(tmp_path), "causalnet")
  assert source["selection"] == "oracle"
  csv_preds = aggregate.read_predictions_csv(_csv(tmp_path, best=True), NAMES)
  order = np.argsort(csv_preds.subject_N, kind="stable")
  assert preds.subject_N == [csv_preds.subject_N[i] for i in order]
  np.testing.assert_array_equal(preds.label_N, csv_preds.label_N[order])
  np.testing.assert_array_equal(preds.pred_N, csv_preds.pred_N[order])
  ours = aggregate.summarize_predictions(preds)
  theirs = aggregate.summarize_predictions(csv_preds)
  assert ours["pooled"] == theirs["pooled"]
  assert ours["fold_mean"] == pytest.approx(theirs["fold_mean"])


def test_causalnet_scores_the_first_block_like_calculate_all_results(tmp_path):
  # A rerun appends a second block; calculate_all_results.py reads line 3 (the first).
  folder = tmp_path / "r"
  folder.mkdir()
  (folder / "sub01_acc.txt").write_text(
      "best epoach: 3\nbest acc: 0.5\nmatrix_acc: [[0, 0], [1, 2]]\n"
      "best epoach: 9\nbest acc: 1.0\nmatrix_acc: [[0, 0], [2, 2]]\n")
  preds, source = peer_logs.read_peer_log(str(folder), "causalnet")
  assert preds.pred_N.tolist() == [0, 1] and preds.label_N.tolist() == [0, 2]
  assert source["later_blocks_ignored"] == {"sub01_acc.txt": 1}


def test_class_names_override_and_code_range(tmp_path):
  path = tmp_path / "log"
  path.write_text("Subject: a\nPredicted : [3, 0]\nGround Truth : [3, 1]\n")
  with pytest.raises(MerjaxError, match=rf"^{path} line 3: label '3' is not a class code 0..2"):
    peer_logs.read_peer_log(str(path), "ststnet-python")
  preds, _ = peer_logs.read_peer_log(str(path), "ststnet-python", ["a", "b", "c", "d"])
  assert preds.class_names == ["a", "b", "c", "d"] and preds.num_classes == 4


BAD = [
    ("ststnet-python", "Subject: a\nPredicted : [0, 1, x]\nGround Truth : [0, 1, 2]\n", 2,
     "not a list of integer class ids"),
    ("ststnet-python", "Subject: a\nPredicted : [0, 1]\nGround Truth : [0, 1, 2]\n", 3,
     "3 ground truth labels for 2 predictions"),
    ("ststnet-python", "Predicted : [0]\nSubject: a\n", 1, "before any 'Subject:' line"),
    ("ststnet-python", "Subject: a\nPredicted : [0]\nGround Truth : [0]\nSubject: a\n", 4,
     "subject a again"),
    ("ststnet-python", "Subject: a\nPredicted : [0]\nPredicted : [1]\n", 3,
     "a second 'Predicted' list"),
    ("htnet", "Subject: a\nPredicted : [0]\nGround Truth : [0]\n", 1,
     "has no 'Best Predicted' list"),
    ("ststnet-matlab", "casme2 sub01\nEP01 0 1 2\n", 2, "4 fields"),
    ("ststnet-matlab", "EP01 0 1\n", 1, "before any 'DATASET SUBJECT' line"),
    ("ststnet-matlab", "samm 006\n006_1_2 neg 0\n", 2, "ground truth 'neg' is not a class code"),
    ("ststnet-matlab", "samm 006\nsamm 007\n007_1 0 0\n", 1, "samm 006 has no"),
    ("ststnet-matlab", "samm 006\n006_1 0 0\nsamm 006\n006_1 1 1\n", 4,
     "duplicate prediction"),
]


@pytest.mark.parametrize("fmt,text,line,reason", BAD)
def test_malformed_line_names_file_and_line(tmp_path, fmt, text, line, reason):
  path = tmp_path / "bad.log"
  path.write_text(text)
  with pytest.raises(MerjaxError) as e:
    peer_logs.read_peer_log(str(path), fmt)
  msg = str(e.value)
  assert msg.startswith(f"{path} line {line}: ") and reason in msg and "\n" not in msg


@pytest.mark.parametrize("text,line,reason", [
    ("best epoch: 3\nbest acc: 1.0\nmatrix_acc: [[0, 0]]\n", 1, "expected 'best epoach: ...'"),
    ("best epoach: 3\nbest acc: 0.5\nmatrix_acc: [[0, 0], [1, 1]]\n", 2,
     "best acc 0.5 but matrix_acc (line 3) is 1 correct"),
    ("best epoach: 3\nbest acc: 1.0\nmatrix_acc: [[0, 0], [1]]\n", 3, "[pred, true] pairs"),
])
def test_malformed_causalnet_file(tmp_path, text, line, reason):
  path = tmp_path / "sub07_acc.txt"
  path.write_text(text)
  with pytest.raises(MerjaxError) as e:
    peer_logs.read_peer_log(str(path), "causalnet")
  msg = str(e.value)
  assert msg.startswith(f"{path} line {line}: ") and reason in msg and "\n" not in msg


def test_a_log_of_another_format_is_refused(tmp_path):
  with pytest.raises(MerjaxError, match="no 'Subject:' blocks"):
    peer_logs.read_peer_log(_ststnet_matlab(tmp_path), "ststnet-python")
  log = _ststnet_python(tmp_path)       # "lr=0.000050, epochs=800, device=cpu": 3 fields
  with pytest.raises(MerjaxError, match=f"^{log} line 1: a 'FILENAME GT PRED' line before"):
    peer_logs.read_peer_log(log, "ststnet-matlab")
  with pytest.raises(MerjaxError, match="unknown log format 'stst'"):
    peer_logs.read_peer_log(os.devnull, "stst")
