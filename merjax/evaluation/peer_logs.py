"""Readers of the per-sample logs that published MER code writes (docs/metrics.md, "Peers' logs").

Each reader turns one log into the columns of a predictions CSV (subject, label, pred and,
where the log has them, dataset and clip) and encodes them through
`aggregate.predictions_from_columns`, the same path a predictions.csv takes, so a parsed
log is scored by exactly the code that scores a run (pooled and fold-mean, fold = subject,
or dataset/subject where the log names datasets). Each format also names the rule that
chose the epoch whose predictions the log holds: "last" (the final epoch) or "oracle" (per
subject, the epoch with the best test accuracy).

Formats (facts read from the public code; the parsers are ours):
  ststnet-python  christy1206/STSTNet main.py's stdout: "Subject: S", "Predicted : [..]",
                  "Ground Truth : [..]" per subject; the last epoch's predictions.
  ststnet-matlab  christy1206/STSTNet STSTNet_logfile.txt: "DATASET SUBJECT" lines, each
                  followed by "FILENAME GT PRED" lines; the final network of trainNetwork.
  htnet           wangzhifengharrison/HTNet's stdout: per subject "Best Predicted : [..]"
                  (the epoch with the best test accuracy: oracle) and "Ground Truth : [..]".
  htnet-last      the "Predicted : [..]" list (the last epoch) that HTNet's
                  HTNet_for_three_datasets_confusion_matrix.py also prints.
  causalnet       tony19980810/CausalNet's results/SUBJECT_acc.txt files (a folder or one
                  file): "best epoach: E", "best acc: A", "matrix_acc: [[pred, true], ..]";
                  the epoch with the best test accuracy (oracle).
"""

from __future__ import annotations

import dataclasses
import os
import re

from merjax.errors import MerjaxError
from merjax.evaluation import aggregate

# The label codes every one of these code bases uses (STSTNet's label_dict; HTNet and
# CausalNet read STSTNet's class folders 0/1/2 and repeat it in recognition_evaluation).
MEGC_CLASSES = ("negative", "positive", "surprise")


@dataclasses.dataclass(frozen=True)
class PeerFormat:
  """One peer log format: what its log holds and which epoch produced it."""
  name: str
  selection: str      # "last" or "oracle"
  evidence: str       # where in the peer's code that rule is


FORMATS = {f.name: f for f in (
    PeerFormat("ststnet-python", "last",
               "STSTNet main.py prints each subject's test predictions after its last "
               "epoch (800), with no model selection"),
    PeerFormat("ststnet-matlab", "last",
               "STSTNet main.m classifies each test subject with the network trainNetwork "
               "returns after MaxEpochs, with no validation data"),
    PeerFormat("htnet", "oracle",
               "HTNet's 'Best Predicted' list is, per subject, the epoch with the best test "
               "accuracy (best <= val_acc on the test subject)"),
    PeerFormat("htnet-last", "last",
               "HTNet's 'Predicted' list (HTNet_for_three_datasets_confusion_matrix.py; "
               "main_HTNet.py does not print it) is each subject's last epoch (800)"),
    PeerFormat("causalnet", "oracle",
               "CausalNet main_train.py writes, per subject, the epoch with the best test "
               "accuracy (stopping early at test accuracy 1)"),
)}


@dataclasses.dataclass
class _Rows:
  """Cell strings of the prediction rows read so far, with their file lines."""
  lines: list[int] = dataclasses.field(default_factory=list)
  cols: dict[str, list[str]] = dataclasses.field(default_factory=dict)

  def add(self, line: int, **cells: str) -> None:
    self.lines.append(line)
    for k, v in cells.items():
      self.cols.setdefault(k, []).append(v)


def _read_lines(path: str) -> list[tuple[int, str]]:
  """(line number, text without the line end) of a text file; MerjaxError if unreadable."""
  try:
    with open(path, encoding="utf-8-sig") as f:
      return [(i, s.rstrip("\r\n")) for i, s in enumerate(f, start=1)]
  except (OSError, UnicodeDecodeError) as e:
    raise MerjaxError(f"{path}: cannot read: {e}") from None


def _code(path: str, line: int, what: str, text: str, names) -> str:
  """`text` as a class-code string checked against `names` (0..K-1)."""
  if not re.fullmatch(r"[+-]?\d+", text) or not 0 <= int(text) < len(names):
    raise MerjaxError(f"{path} line {line}: {what} '{text}' is not a class code "
                      f"0..{len(names) - 1} ({', '.join(names)}); pass --classes for others")
  return str(int(text))


# --- STSTNet / HTNet stdout: per-subject Python lists -----------------------------------

_SUBJECT = re.compile(r"\s*Subject\s*:(.*)")
_LIST = re.compile(r"\s*(Best Predicted|Predicted|Ground Truth)\s*:(.*)")
_INT_LIST = re.compile(r"\[\s*(?:[+-]?\d+\s*(?:,\s*[+-]?\d+\s*)*)?\]")


def _subject_lists(path: str) -> list[dict]:
  """Blocks {subject, line, lists: {key: (line, [str])}} of a per-subject list log.

  A block starts at "Subject: S"; "Predicted", "Best Predicted" and "Ground Truth" lines
  must hold a Python list of integers. Other lines (running UF1/UAR, epochs) are skipped.
  """
  blocks, first = [], {}
  for line, text in _read_lines(path):
    m = _SUBJECT.fullmatch(text)
    if m:
      subject = m.group(1).strip()
      if not subject:
        raise MerjaxError(f"{path} line {line}: 'Subject:' without a subject name")
      if subject in first:
        raise MerjaxError(f"{path} line {line}: subject {subject} again (first at line "
                          f"{first[subject]}); score one run's log at a time")
      first[subject] = line
      blocks.append({"subject": subject, "line": line, "lists": {}})
      continue
    m = _LIST.fullmatch(text)
    if not m:
      continue
    key, value = m.group(1), m.group(2).strip()
    if not blocks:
      raise MerjaxError(f"{path} line {line}: '{key}' before any 'Subject:' line")
    if not _INT_LIST.fullmatch(value):
      raise MerjaxError(f"{path} line {line}: '{key}' is not a list of integer class ids: "
                        f"{value[:40]!r}")
    lists = blocks[-1]["lists"]
    if key in lists:
      raise MerjaxError(f"{path} line {line}: a second '{key}' list for subject "
                        f"{blocks[-1]['subject']} (first at line {lists[key][0]})")
    lists[key] = (line, re.findall(r"[+-]?\d+", value))
  return blocks


def _read_subject_lists(path: str, pred_key: str, names) -> _Rows:
  """Rows of a per-subject list log, predictions from the `pred_key` list."""
  rows = _Rows()
  for b in _subject_lists(path):
    missing = [k for k in (pred_key, "Ground Truth") if k not in b["lists"]]
    if missing:
      raise MerjaxError(f"{path} line {b['line']}: subject {b['subject']} has no "
                        f"'{missing[0]}' list")
    (p_line, pred), (g_line, true) = b["lists"][pred_key], b["lists"]["Ground Truth"]
    if len(pred) != len(true) or not true:
      raise MerjaxError(f"{path} line {g_line}: subject {b['subject']}: {len(true)} ground "
                        f"truth labels for {len(pred)} predictions (line {p_line})")
    for p, t in zip(pred, true):
      rows.add(g_line, subject=b["subject"], label=_code(path, g_line, "label", t, names),
               pred=_code(path, p_line, "prediction", p, names))
  if not rows.lines:
    raise MerjaxError(f"{path}: no 'Subject:' blocks with '{pred_key}' and 'Ground Truth' "
                      "lists; is this the right --format?")
  return rows


# --- STSTNet Matlab log: "dataset subject" headers and "filename gt pred" rows -----------

def _read_ststnet_matlab(path: str, names) -> _Rows:
  rows, head, counts = _Rows(), None, {}
  for line, text in _read_lines(path):
    fields = text.split()
    if not fields:
      continue
    if len(fields) == 2:
      if head is not None and not counts[head[:2]]:
        raise MerjaxError(f"{path} line {head[2]}: {head[0]} {head[1]} has no "
                          "'FILENAME GT PRED' lines")
      head = (fields[0], fields[1], line)
      counts.setdefault(head[:2], 0)
    elif len(fields) == 3:
      if head is None:
        raise MerjaxError(f"{path} line {line}: a 'FILENAME GT PRED' line before any "
                          "'DATASET SUBJECT' line")
      rows.add(line, dataset=head[0], subject=head[1], clip=fields[0],
               label=_code(path, line, "ground truth", fields[1], names),
               pred=_code(path, line, "prediction", fields[2], names))
      counts[head[:2]] += 1
    else:
      raise MerjaxError(f"{path} line {line}: {len(fields)} fields; expected 'DATASET "
                        "SUBJECT' (2) or 'FILENAME GT PRED' (3)")
  if head is not None and not counts[head[:2]]:
    raise MerjaxError(f"{path} line {head[2]}: {head[0]} {head[1]} has no 'FILENAME GT "
                      "PRED' lines")
  if not rows.lines:
    raise MerjaxError(f"{path}: no prediction lines")
  return rows


# --- CausalNet results/SUBJECT_acc.txt -------------------------------------------------

_ACC_SUFFIX = "_acc.txt"
_PAIR = r"\[\s*[+-]?\d+\s*,\s*[+-]?\d+\s*\]"
_PAIRS = re.compile(rf"\[\s*(?:{_PAIR}(?:\s*,\s*{_PAIR})*)?\s*\]")
_BLOCK = (("best epoach", r"\d+"), ("best acc", r"[0-9.eE+-]+"), ("matrix_acc", None))


def _causalnet_files(path: str) -> list[str]:
  if not os.path.isdir(path):
    if not path.endswith(_ACC_SUFFIX):
      raise MerjaxError(f"{path}: a CausalNet result is a folder of SUBJECT{_ACC_SUFFIX} "
                        f"files or one such file")
    return [path]
  files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(_ACC_SUFFIX))
  if not files:
    raise MerjaxError(f"{path}: no SUBJECT{_ACC_SUFFIX} files")
  return files


def _read_causalnet_file(file: str, rows: _Rows, names) -> int:
  """Adds one subject's first block (what calculate_all_results.py scores); returns how
  many later blocks (appended by reruns) the file holds."""
  subject = os.path.basename(file)[:-len(_ACC_SUFFIX)]
  lines = [(n, s.strip()) for n, s in _read_lines(file) if s.strip()]
  if len(lines) < 3 or len(lines) % 3:
    raise MerjaxError(f"{file}: {len(lines)} lines; expected blocks of 'best epoach', "
                      "'best acc' and 'matrix_acc' lines")
  values = []
  for (line, text), (key, pattern) in zip(lines[:3], _BLOCK):
    head, _, value = text.partition(":")
    value = value.strip()
    if head.strip() != key or (pattern and not re.fullmatch(pattern, value)):
      raise MerjaxError(f"{file} line {line}: expected '{key}: ...', got {text[:40]!r}")
    values.append((line, value))
  (_, _), (acc_line, acc), (line, matrix) = values
  if not _PAIRS.fullmatch(matrix) or matrix.replace(" ", "") == "[]":
    raise MerjaxError(f"{file} line {line}: matrix_acc is not a non-empty list of "
                      "[pred, true] pairs")
  pairs = re.findall(r"\[\s*([+-]?\d+)\s*,\s*([+-]?\d+)\s*\]", matrix)
  try:
    acc_value = float(acc)
  except ValueError:
    raise MerjaxError(f"{file} line {acc_line}: best acc {acc!r} is not a number") from None
  correct = sum(int(p) == int(t) for p, t in pairs) / len(pairs)
  if abs(correct - acc_value) > 1e-6:
    raise MerjaxError(f"{file} line {acc_line}: best acc {acc} but matrix_acc (line {line}) "
                      f"is {correct:.6g} correct")
  for p, t in pairs:
    rows.add(line, subject=subject, label=_code(file, line, "true class", t, names),
             pred=_code(file, line, "predicted class", p, names))
  return len(lines) // 3 - 1


def _read_causalnet(path: str, names) -> tuple[_Rows, dict]:
  rows, extra = _Rows(), {}
  for file in _causalnet_files(path):
    n = _read_causalnet_file(file, rows, names)
    if n:
      extra[os.path.basename(file)] = n
  return rows, ({"later_blocks_ignored": extra} if extra else {})


# --- entry point ---------------------------------------------------------------------------

def read_peer_log(path: str, fmt: str, class_names=None
                  ) -> tuple[aggregate.Predictions, dict]:
  """(Predictions, source) of a peer's log in format `fmt` (see FORMATS).

  Label codes are `class_names` when given, else MEGC_CLASSES; every code must be one of
  them. source = {format, selection ("last" / "oracle"), selection_evidence} (+ what was
  skipped). Bad input raises MerjaxError "PATH line N: reason".
  """
  if fmt not in FORMATS:
    raise MerjaxError(f"unknown log format '{fmt}' (formats: {', '.join(FORMATS)})")
  names = list(class_names) if class_names is not None else list(MEGC_CLASSES)
  extra = {}
  if fmt == "ststnet-matlab":
    rows = _read_ststnet_matlab(path, names)
  elif fmt == "causalnet":
    rows, extra = _read_causalnet(path, names)
  else:
    rows = _read_subject_lists(path, "Best Predicted" if fmt == "htnet" else "Predicted",
                               names)
  preds = aggregate.predictions_from_columns(path, rows.lines, rows.cols, names)
  spec = FORMATS[fmt]
  source = {"format": fmt, "selection": spec.selection,
            "selection_evidence": spec.evidence, **extra}
  return preds, source


def selection_keys(source: dict) -> dict:
  """The keys a run's metrics.json uses for its selection rule, from a peer log's source."""
  return {"selection": source["selection"], "oracle": source["selection"] == "oracle",
          "source": source}
