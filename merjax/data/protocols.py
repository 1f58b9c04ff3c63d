"""Label protocols (class names by name) and fold construction (LOSO, split, cross-dataset).

Folds are plain data: boolean masks over one dataset array, which the trainer
turns into index tables on the device.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

from merjax.data.records import Clip
from merjax.errors import MerjaxError


@dataclasses.dataclass(frozen=True)
class LabelProtocol:
  """Maps a dataset's raw label names onto an ordered class list.

  `classes` fixes the integer codes (index in the tuple); `mapping` sends a raw
  label (compared case-insensitively) to a class name. Raw labels missing from
  `mapping` are dropped, and the drop is reported.
  """
  name: str
  classes: tuple[str, ...]
  mapping: Mapping[str, str]

  def __post_init__(self):
    unknown = set(self.mapping.values()) - set(self.classes)
    if unknown:
      raise ValueError(f"protocol {self.name}: mapping targets {sorted(unknown)} "
                       f"not among classes {self.classes}")

  def apply(self, clips: Sequence[Clip]):
    """Returns (kept clips, y_N int32 codes, dropped raw-label counts)."""
    lookup = {k.lower(): v for k, v in self.mapping.items()}
    kept, codes, dropped = [], [], {}
    for clip in clips:
      target = lookup.get(clip.label.lower())
      if target is None:
        dropped[clip.label] = dropped.get(clip.label, 0) + 1
        continue
      kept.append(clip)
      codes.append(self.classes.index(target))
    return kept, np.asarray(codes, np.int32), dropped


def identity_protocol(name: str, classes: Sequence[str]) -> LabelProtocol:
  """A protocol that keeps the given class names as they are."""
  return LabelProtocol(name, tuple(classes), {c: c for c in classes})


@dataclasses.dataclass(frozen=True)
class Folds:
  """F folds over N samples.

  Attributes:
    names: fold names (the held-out subject key for LOSO).
    train_FxN, test_FxN: boolean masks.
    kind: "loso", "split" or "cross".
    skipped: subjects that got no fold because no sample of theirs survived.
  """
  names: tuple[str, ...]
  train_FxN: np.ndarray
  test_FxN: np.ndarray
  kind: str
  skipped: tuple[str, ...] = ()

  def __len__(self):
    return len(self.names)

  def select(self, indices: Sequence[int]) -> Folds:
    """The sub-collection of folds at `indices`."""
    idx = np.asarray(indices, int)
    return dataclasses.replace(self, names=tuple(self.names[i] for i in idx),
                               train_FxN=self.train_FxN[idx],
                               test_FxN=self.test_FxN[idx])


def loso_folds(subject_N: Sequence[str],
               all_subjects: Sequence[str] | None = None) -> Folds:
  """Leave-one-subject-out: one fold per subject, in sorted subject order.

  Subjects listed in `all_subjects` but without samples in `subject_N` (every
  clip filtered out by the protocol) are skipped and named in `skipped`.
  """
  subject_N = np.asarray(subject_N)
  present = sorted(set(subject_N.tolist()))
  skipped = sorted(set(all_subjects or ()) - set(present))
  test_FxN = np.stack([subject_N == s for s in present])
  if len(present) < 2:
    raise MerjaxError(f"LOSO needs at least 2 subjects, got {len(present)}")
  return Folds(tuple(present), ~test_FxN, test_FxN, "loso", tuple(skipped))


SPLIT_RULES = ("per_class", "total")


def split_test_counts(n_per_class: Sequence[int], test_fraction: float = 0.1,
                      rule: str = "per_class") -> np.ndarray:
  """Test samples per class of the stratified split (int array, one per class).

  per_class (default): each class gives round(test_fraction * n_class) (Python's
    round, half to even), at least one and at most n_class - 1 when it has two
    or more samples. MESTI Table I sets: CASME II 5-class (247) -> 24, SAMM
    5-class MESTI (159) -> 17.
  total: scikit-learn's train_test_split(stratify=y) count, ceil(test_fraction *
    N) in all, shared out by largest remainder of test_fraction_total * n_class / N
    (ties: the larger class, then class order). CASME II 247 -> 25, SAMM 159 -> 16.
  docs/mesti.md compares both with the paper's test sizes (26 and 16).
  """
  if not 0 < test_fraction < 1:
    raise MerjaxError(f"data.test_fraction: {test_fraction} is not in (0, 1)")
  n_C = np.asarray(n_per_class, int)
  if rule == "per_class":
    out = np.array([int(round(test_fraction * n)) for n in n_C])
    two = n_C >= 2
    out[two] = np.clip(out[two], 1, n_C[two] - 1)
    return out
  if rule == "total":
    total = int(np.ceil(round(test_fraction * n_C.sum(), 9)))
    ideal = total * n_C / n_C.sum()
    out = np.floor(ideal).astype(int)
    order = sorted(range(len(n_C)), key=lambda c: (-(ideal[c] - out[c]), -n_C[c], c))
    for c in order[:total - out.sum()]:
      out[c] += 1
    return out
  raise MerjaxError(f"data.split_rule: '{rule}' is not one of {', '.join(SPLIT_RULES)}")


def split_folds(y_N: np.ndarray, test_fraction: float = 0.1,
                seed: int = 0, rule: str = "per_class") -> Folds:
  """One stratified random train/test split (MESTI Experiment 1 uses 90/10).

  Class c contributes split_test_counts(...)[c] test samples, drawn with
  numpy's default_rng(seed); `test_fraction` must lie in (0, 1).
  """
  y_N = np.asarray(y_N)
  classes = np.unique(y_N)
  counts = split_test_counts([int((y_N == c).sum()) for c in classes], test_fraction, rule)
  rng = np.random.default_rng(seed)
  test_N = np.zeros(len(y_N), bool)
  for c, n_test in zip(classes, counts):
    members = np.flatnonzero(y_N == c)
    test_N[rng.permutation(members)[:n_test]] = True
  name = f"split{int(round(100 * (1 - test_fraction)))}-{seed}"
  return Folds((name,), ~test_N[None], test_N[None], "split")


def cross_dataset_folds(dataset_N: Sequence[str], train: str,
                        test: str) -> Folds:
  """Train on every sample of dataset `train`, test on every sample of `test`.

  Both must be named, differ, and have samples (MerjaxError naming the
  data.train_dataset / data.test_dataset keys otherwise).
  """
  missing = [f"data.{k}" for k, v in (("train_dataset", train), ("test_dataset", test)) if not v]
  if missing:
    raise MerjaxError(f"data.folds=cross needs {' and '.join(missing)} (the datasets of the "
                      f"composite to train and test on)")
  if train == test:
    raise MerjaxError(f"data.folds=cross: data.train_dataset and data.test_dataset are both "
                      f"'{train}'; a cross-dataset fold needs two datasets")
  dataset_N = np.asarray(dataset_N)
  present = sorted(set(dataset_N.tolist()))
  for key, name in (("train_dataset", train), ("test_dataset", test)):
    if not (dataset_N == name).any():
      raise MerjaxError(f"data.{key}: no samples of dataset '{name}' (datasets present: "
                        f"{', '.join(present)})")
  return Folds((f"{train}->{test}",), (dataset_N == train)[None],
               (dataset_N == test)[None], "cross")


def leave_one_dataset_out_folds(dataset_N: Sequence[str]) -> Folds:
  """One fold per dataset of a composite (sorted names): train on every other dataset,
  test on it. Fewer than 2 datasets is a MerjaxError."""
  dataset_N = np.asarray(dataset_N)
  present = sorted(set(dataset_N.tolist()))
  if len(present) < 2:
    raise MerjaxError(f"data.folds=lodo needs at least 2 datasets, got "
                      f"{', '.join(present) or 'none'} (use a composite dataset)")
  test_FxN = np.stack([dataset_N == d for d in present])
  return Folds(tuple(present), ~test_FxN, test_FxN, "lodo")


def make_folds(kind: str, *, subject_N, y_N, dataset_N, all_subjects=None,
               test_fraction=0.1, seed=0, train_dataset="", test_dataset="",
               split_rule="per_class"):
  """Folds by protocol name: "loso" (also over a composite), "split", "cross", "lodo"."""
  if kind == "loso":
    return loso_folds(subject_N, all_subjects)
  if kind == "lodo":
    return leave_one_dataset_out_folds(dataset_N)
  if kind == "split":
    return split_folds(y_N, test_fraction, seed, split_rule)
  if kind == "cross":
    return cross_dataset_folds(dataset_N, train_dataset, test_dataset)
  raise MerjaxError(f"data.folds: unknown fold protocol '{kind}' (loso, split, cross, lodo)")


def fold_seed(seed: int, fold_name: str) -> int:
  """A 31-bit integer from (seed, fold name), stable across runs and machines.

  A fold's PRNG key depends only on this, never on the other folds in a run.
  """
  return zlib.crc32(f"{seed}:{fold_name}".encode()) & 0x7FFFFFFF
