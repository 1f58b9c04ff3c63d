"""Classification metrics for MER: Acc, UF1, UAR, WAR and macro-precision.

Which classes enter each macro mean (docs/metrics.md has the full table):
  - UAR: classes present in the labels (support > 0).
  - UF1 and macro-precision: classes present in the labels or in the
    predictions. A class in the labels that is never predicted has precision 0
    and F1 0; a predicted class absent from the labels has precision 0 and F1
    0 and no recall.
  - A class absent from both labels and predictions enters no mean; its
    per-class precision, recall and F1 are None.
"""

from __future__ import annotations

import numpy as np

from merjax.errors import MerjaxError

SCALAR_KEYS = ("acc", "uf1", "uar", "war", "wf1", "macro_precision")


def _as_labels(values_N, name: str) -> np.ndarray:
  """1-D int64 array from `values_N`, or MerjaxError."""
  arr = np.asarray(values_N)
  if arr.ndim != 1:
    raise MerjaxError(f"{name} must be 1-D, got shape {arr.shape}")
  if arr.size == 0:
    return arr.astype(np.int64)
  if not np.issubdtype(arr.dtype, np.integer):
    raise MerjaxError(f"{name} must hold integer class ids, got {arr.dtype}")
  return arr.astype(np.int64)


def check_labels(y_true_N, y_pred_N, num_classes: int):
  """Validated (y_true_N, y_pred_N) int64 arrays with ids in [0, num_classes)."""
  y_true = _as_labels(y_true_N, "labels")
  y_pred = _as_labels(y_pred_N, "predictions")
  if y_true.shape != y_pred.shape:
    raise MerjaxError(
        f"{y_true.size} labels but {y_pred.size} predictions")
  if num_classes < 1:
    raise MerjaxError(f"num_classes must be >= 1, got {num_classes}")
  for name, arr in (("label", y_true), ("prediction", y_pred)):
    bad = (arr < 0) | (arr >= num_classes)
    if bad.any():
      raise MerjaxError(
          f"{name} {int(arr[bad][0])} outside classes 0..{num_classes - 1}")
  return y_true, y_pred


def confusion_matrix(y_true_N, y_pred_N, num_classes: int) -> np.ndarray:
  """K x K int64 counts, rows = true class, columns = predicted class."""
  y_true, y_pred = check_labels(y_true_N, y_pred_N, num_classes)
  flat = np.bincount(y_true * num_classes + y_pred,
                     minlength=num_classes * num_classes)
  return flat.reshape(num_classes, num_classes)


def _ratio(num_K, den_K, defined_K, zero_den_value: float) -> np.ndarray:
  """num/den where defined (zero_den_value if den == 0), NaN elsewhere."""
  out = np.full(num_K.shape, np.nan)
  safe = den_K > 0
  out[safe] = num_K[safe] / den_K[safe]
  out[defined_K & ~safe] = zero_den_value
  out[~defined_K] = np.nan
  return out


def per_class_scores(confusion_KK: np.ndarray) -> dict:
  """Per-class arrays (K,) from a confusion matrix; NaN = undefined.

  Returns tp, fp, fn, support (row sums), predicted (column sums), the masks
  `in_labels` (support > 0) and `seen` (in labels or predicted), and precision,
  recall, f1. recall is defined for `in_labels`; precision and f1 for `seen`
  (precision = 0 for a seen class that is never predicted).
  """
  cm = np.asarray(confusion_KK, dtype=np.int64)
  tp = np.diag(cm)
  support = cm.sum(axis=1)
  predicted = cm.sum(axis=0)
  fp, fn = predicted - tp, support - tp
  in_labels = support > 0
  seen = in_labels | (predicted > 0)
  return {
      "tp": tp, "fp": fp, "fn": fn, "support": support,
      "predicted": predicted, "in_labels": in_labels, "seen": seen,
      "precision": _ratio(tp, predicted, seen, 0.0),
      "recall": _ratio(tp, support, in_labels, 0.0),
      "f1": _ratio(2 * tp, 2 * tp + fp + fn, seen, 0.0),
  }


def _opt(x) -> float | None:
  return None if np.isnan(x) else float(x)


def metrics_from_confusion(confusion_KK: np.ndarray) -> dict:
  """Metrics dict (see `classification_metrics`) from a K x K confusion."""
  cm = np.asarray(confusion_KK, dtype=np.int64)
  n = int(cm.sum())
  if n == 0:
    raise MerjaxError("no predictions to score")
  s = per_class_scores(cm)
  acc = float(s["tp"].sum() / n)
  per_class = [
      {"precision": _opt(s["precision"][k]), "recall": _opt(s["recall"][k]),
       "f1": _opt(s["f1"][k]), "support": int(s["support"][k]),
       "predicted": int(s["predicted"][k])}
      for k in range(cm.shape[0])]
  return {
      "acc": acc,
      "uf1": float(np.mean(s["f1"][s["seen"]])),
      "uar": float(np.mean(s["recall"][s["in_labels"]])),
      "war": acc,
      "wf1": float(np.sum(np.where(s["in_labels"], s["f1"], 0.0) * s["support"]) / n),
      "macro_precision": float(np.mean(s["precision"][s["seen"]])),
      "per_class": per_class,
      "confusion": cm.tolist(),
  }


def classification_metrics(y_true_N, y_pred_N, num_classes: int) -> dict:
  """Acc, UF1, UAR, WAR, macro-precision, per-class scores and confusion.

  Keys:
    acc: correct / N.
    war: weighted average recall = sum_k support_k * recall_k / N = acc
    wf1: weighted F1 = sum_k support_k * F1_k / N (scikit-learn's average="weighted",
      what the FDP release reports)
      (kept as its own key because papers report it under that name).
    uar: mean recall TP_k / support_k over classes present in y_true.
    uf1: mean F1_k = 2TP_k / (2TP_k + FP_k + FN_k) over classes present in
      y_true or y_pred.
    macro_precision: mean TP_k / predicted_k over classes present in y_true or
      y_pred (0 for a class never predicted). NOT the UAR.
    per_class: K dicts {precision, recall, f1, support, predicted}; undefined
      values (see module docstring) are None.
    confusion: K x K nested list, rows true, columns predicted.
  A class absent from both y_true and y_pred enters no mean. Raises
  MerjaxError on empty input or ids outside [0, num_classes).
  """
  return metrics_from_confusion(
      confusion_matrix(y_true_N, y_pred_N, num_classes))


def scalar_metrics(metrics: dict) -> dict:
  """Only the scalar keys (acc, uf1, uar, war, wf1, macro_precision)."""
  return {k: metrics[k] for k in SCALAR_KEYS}
