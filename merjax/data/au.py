"""Action units as a multi-label target: one normalisation rule for every sheet's codes,
and the multi-hot encoding of clips over a configured AU set (data.task=au; docs/au.md).

The rule (`normalize`), applied to each code a loader parsed (`sheets.parse_aus` splits a
cell on `+ , ;` and blanks, so `4+AU7` gives `AU4`, `AU7`):
  1. upper case, blanks removed; a leading `AU` is dropped;
  2. a leading side letter is dropped: `L` (left), `R` (right), `B` (bilateral),
     `U` (unilateral), e.g. `L12`, `R4`, `B1`;
  3. the code is the leading integer of what is left; any trailing part (an intensity
     letter A-E as `12B`, a `+` or `?`, a bracketed note `4(weak)`) is dropped;
  4. `AU` + the integer without leading zeros is the code (`AU04` -> `AU4`).
A token without such an integer (`?`, `none`, `M57`-style head codes with another letter,
`T` tongue codes) is not an AU and is skipped. A clip none of whose tokens is an AU carries
no AU annotation and is left out of an AU run (reported); a clip with AUs none of which is
in the set is a sample with every target 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from merjax.errors import MerjaxError

# The 12 AUs most frequent across CASME II, SAMM, MMEW, CAS(ME)^3 and 4DME (issue 22).
DEFAULT_AUS = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU14",
               "AU15", "AU17")
SIDES = "LRBU"
_CODE = re.compile(rf"^(?:AU)?[{SIDES}]?(?:AU)?0*(\d+)")


def normalize(code) -> str | None:
  """The canonical `AU<n>` of one sheet code (`L12`, `R4`, `12B`, `AU4+`, 4), or None when
  the token is not an AU code (module docstring: the rule)."""
  token = re.sub(r"\s+", "", str(code)).upper()
  m = _CODE.match(token)
  if not m:
    return None
  return f"AU{int(m.group(1))}"


def normalize_all(codes: Iterable) -> tuple[str, ...]:
  """The distinct canonical AUs of a clip's codes, in first-seen order."""
  out = []
  for code in codes:
    au = normalize(code)
    if au is not None and au not in out:
      out.append(au)
  return tuple(out)


def check_set(aus) -> str | None:
  """data.action_units' check: a non-empty list of distinct AU codes (None when fine,
  else the problem)."""
  if not isinstance(aus, (list, tuple)) or not aus:
    return f"{aus!r} is not a non-empty list of AU codes"
  names = []
  for code in aus:
    au = normalize(code) if isinstance(code, (str, int)) and not isinstance(code, bool) else None
    if au is None:
      return f"{code!r} is not an AU code (e.g. AU12 or 12)"
    if au in names:
      return f"{code!r} names {au} twice"
    names.append(au)
  return None


def au_set(aus: Sequence) -> tuple[str, ...]:
  """The configured AU set as canonical names, in the given order."""
  problem = check_set(aus)
  if problem:
    raise MerjaxError(f"data.action_units: {problem}")
  return tuple(normalize(a) for a in aus)


def multi_hot(codes: Iterable, aus: Sequence[str]) -> np.ndarray:
  """A float32 vector over `aus` (canonical names): 1 where the clip's codes hold the AU."""
  have = set(normalize_all(codes))
  return np.asarray([a in have for a in aus], np.float32)


def label_clips(clips: Sequence, aus: Sequence, log=None):
  """(AU names, kept clips, y_NxA float32 multi-hot, dropped count): the AU task's labels.

  Clips without any AU code (e.g. SMIC, or a blank cell) are dropped and logged; none
  left is a MerjaxError naming the datasets."""
  names = au_set(aus)
  kept = [c for c in clips if normalize_all(c.action_units)]
  dropped = len(clips) - len(kept)
  if dropped and log is not None:
    log(f"task au: dropped {dropped} clip(s) without AU codes")
  if not kept:
    datasets = sorted({c.dataset for c in clips})
    raise MerjaxError(f"task au: no clip of {len(clips)} has an AU code (datasets: "
                      f"{', '.join(datasets) or 'none'})")
  y_NxA = np.stack([multi_hot(c.action_units, names) for c in kept])
  return names, kept, y_NxA, dropped
