"""The linear SVM of the hand-crafted baselines (scikit-learn's LinearSVC, the `baselines` extra).

One-vs-rest liblinear with a fixed C; deterministic (random_state=0, so the run's seeds
change nothing). Scores are the decision values, one column per class of the run: the
argmax is LinearSVC's prediction.
"""

from __future__ import annotations

import numpy as np

from merjax.errors import MerjaxError

RANDOM_STATE = 0


def _linear_svc():
  try:
    from sklearn.svm import LinearSVC  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise MerjaxError("the hand-crafted baselines need scikit-learn: pip install -e "
                      "\".[baselines]\"") from None
  return LinearSVC


def standardize(train_NxD: np.ndarray, test_MxD: np.ndarray):
  """(x - mean) / std with the training rows' statistics (a constant column: std 1)."""
  mean = train_NxD.mean(0)
  std = train_NxD.std(0)
  std = np.where(std > 0, std, 1.0)
  return (train_NxD - mean) / std, (test_MxD - mean) / std


def fit_scores(train_NxD, y_N, test_MxD, num_classes: int, *, C: float = 1.0,
               class_weight=None, max_iter: int = 10000) -> np.ndarray:
  """float64 M x K decision values of a LinearSVC fitted on the training rows; classes
  absent from the training labels get a score below every other in their row."""
  y_N = np.asarray(y_N)
  present = np.unique(y_N)
  scores = np.zeros((len(test_MxD), num_classes))
  if len(present) == 1:          # nothing to separate: that class everywhere
    scores[:] = -1.0
    scores[:, present[0]] = 1.0
    return scores
  svc = _linear_svc()(C=float(C), class_weight=class_weight, max_iter=int(max_iter),
                      random_state=RANDOM_STATE, dual="auto")
  svc.fit(np.asarray(train_NxD, np.float64), y_N)
  decision = svc.decision_function(np.asarray(test_MxD, np.float64))
  if decision.ndim == 1:         # binary: positive means classes_[1]
    decision = np.stack([-decision, decision], 1)
  floor = decision.min(1, keepdims=True) - 1.0
  scores[:] = floor
  scores[:, svc.classes_] = decision
  return scores
