"""Wilcoxon rank-sum test (normal approximation), as FDP's Tables 12/13 report it.

Same statistic as scipy.stats.ranksums: z = (R_x - n_x (n + 1) / 2) / sqrt(n_x n_y (n + 1) / 12),
R_x the sum of the (tie-averaged) ranks of x in the pooled sample, no tie or continuity correction.
FDP's tables are one-sided ("ours is superior"): with x = our F1 column, alternative="greater".
E.g. two columns of m values each, every x above every y, give z = (m / 2) sqrt(12 / (2m + 1)):
m = 4 -> 2.309, p = 1.046e-2; m = 5 -> 2.611, p = 4.512e-3 (the values in Tables 12 and 13).
"""

from __future__ import annotations

import math
from typing import NamedTuple
from collections.abc import Sequence

import numpy as np

from merjax.errors import MerjaxError


class RankSumResult(NamedTuple):
  statistic: float
  pvalue: float


def _average_ranks(a_N: np.ndarray) -> np.ndarray:
  order = np.argsort(a_N, kind="mergesort")
  ranks_N = np.empty(len(a_N))
  ranks_N[order] = np.arange(1, len(a_N) + 1)
  _, inv = np.unique(a_N, return_inverse=True)
  return (np.bincount(inv, ranks_N) / np.bincount(inv))[inv]


def ranksums(x: Sequence[float], y: Sequence[float],
             alternative: str = "greater") -> RankSumResult:
  """Rank-sum test of x against y. alternative: "greater" (x tends to be larger; FDP's H1),
  "less" or "two-sided"."""
  x_N = np.asarray(x, np.float64).ravel()
  y_M = np.asarray(y, np.float64).ravel()
  if len(x_N) == 0 or len(y_M) == 0:
    raise MerjaxError(f"ranksums: empty sample (sizes {len(x_N)} and {len(y_M)})")
  if not (np.all(np.isfinite(x_N)) and np.all(np.isfinite(y_M))):
    raise MerjaxError("ranksums: samples contain NaN or inf")
  n1, n2 = len(x_N), len(y_M)
  n = n1 + n2
  ranks = _average_ranks(np.concatenate([x_N, y_M]))
  z = (ranks[:n1].sum() - n1 * (n + 1) / 2.0) / math.sqrt(n1 * n2 * (n + 1) / 12.0)
  if alternative == "greater":
    p = 0.5 * math.erfc(z / math.sqrt(2.0))
  elif alternative == "less":
    p = 0.5 * math.erfc(-z / math.sqrt(2.0))
  elif alternative == "two-sided":
    p = math.erfc(abs(z) / math.sqrt(2.0))
  else:
    raise MerjaxError(f"ranksums: unknown alternative {alternative!r}")
  return RankSumResult(float(z), float(p))
