"""Hand-crafted baselines: features computed once per clip, one linear SVM per fold.

`--model lbp_top` (lbp_top.py) and `--model mdmo` (mdmo.py) run through the same LOSO,
run directory and tables as the networks (run.py; docs/baselines.md). This module holds
their `model.*` fields and checks; it imports neither jax kernels nor scikit-learn.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from merjax.errors import MerjaxError

# Fields every baseline's linear SVM reads (svm.py).
SVM_FIELDS = {"C": 1.0, "class_weight": None, "max_iter": 10000}

# name -> its model.* fields and their defaults (besides `name`).
BASELINES: dict[str, dict[str, Any]] = {
    "lbp_top": {"radius": (1, 1, 1), "neighbours": (8, 8, 8), "grid": (5, 5, 1),
                "mapping": "uniform", **SVM_FIELDS},
    "mdmo": {"grid": (6, 6), "bins": 8, "flow": "onset", "normalize_magnitude": True,
             **SVM_FIELDS},
}
FRAMES = "frames"                     # the modality of a grey volume
ONSET_APEX_FLOW = "flow_onset_apex"   # mdmo flow=onset_apex


def is_baseline(name) -> bool:
  return name in BASELINES


def fields(model_cfg: Mapping) -> dict[str, Any]:
  """The baseline's fields: its defaults updated by the config (lists as tuples)."""
  name = model_cfg["name"]
  out = dict(BASELINES[name])
  for key, value in model_cfg.items():
    if key != "name":
      out[key] = tuple(value) if isinstance(value, list) else value
  return out


def _ints(value, n: int, low: int, high: int | None = None) -> bool:
  return (isinstance(value, (list, tuple)) and len(value) == n
          and all(isinstance(v, int) and not isinstance(v, bool) and v >= low
                  and (high is None or v <= high) for v in value))


def _problem(name: str, key: str, v) -> str | None:
  """What is wrong with model.<key> = v of baseline `name` (None: nothing)."""
  if key == "radius" and not _ints(v, 3, 1):
    return f"{v!r} is not three positive integers (Rx, Ry, Rt)"
  if key == "neighbours" and not _ints(v, 3, 2, 16):
    return f"{v!r} is not three integers in 2..16 (P_XY, P_XT, P_YT)"
  if key == "grid" and not _ints(v, 3 if name == "lbp_top" else 2, 1):
    return (f"{v!r} is not three positive integers (rows, cols, times)" if name == "lbp_top"
            else f"{v!r} is not two positive integers (rows, cols)")
  if key == "mapping" and v not in ("uniform", "none"):
    return f"{v!r} is not 'uniform' or 'none'"
  if key == "bins" and not _ints((v,), 1, 2):
    return f"{v!r} is not an integer >= 2"
  if key == "flow" and v not in ("onset", "consecutive", "onset_apex"):
    return f"{v!r} is not 'onset', 'consecutive' or 'onset_apex'"
  if key == "normalize_magnitude" and not isinstance(v, bool):
    return f"{v!r} is not true/false"
  if key == "C" and (not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0):
    return f"{v!r} is not a positive number"
  if key == "class_weight" and v not in (None, "balanced"):
    return f"{v!r} is not null or 'balanced'"
  if key == "max_iter" and not _ints((v,), 1, 1):
    return f"{v!r} is not a positive integer"
  return None


def required_modality(name: str, model_fields: Mapping) -> str:
  """The one input modality the baseline reads."""
  return ONSET_APEX_FLOW if name == "mdmo" and model_fields["flow"] == "onset_apex" else FRAMES


def check_config(config: Mapping) -> dict[str, Any]:
  """Checks a baseline's `model` group and the settings it depends on (one input of the
  modality it reads, one seed, last-epoch selection); returns its fields. One-line
  MerjaxError naming the key."""
  model_cfg = config["model"]
  name = model_cfg["name"]
  known = BASELINES[name]
  for key, value in model_cfg.items():
    if key == "name":
      continue
    if key not in known:
      close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
      hint = (f"did you mean {' or '.join(f'model.{c}' for c in close)}?" if close
              else f"fields: {', '.join(sorted(known))}")
      raise MerjaxError(f"model.{key}: unknown field of baseline '{name}'; {hint}")
    problem = _problem(name, key, value)
    if problem:
      raise MerjaxError(f"model.{key}: {problem}")
  out = fields(model_cfg)
  inputs = dict(config["data"]["inputs"])
  want = required_modality(name, out)
  if list(inputs.values()) != [want]:
    mode = f" (model.flow={out['flow']})" if name == "mdmo" else ""
    extra = " and data.preprocess.flow_normalize=none" if want == ONSET_APEX_FLOW else ""
    raise MerjaxError(f"data.inputs: baseline '{name}'{mode} reads one input of modality "
                      f"'{want}', got {inputs}; set data.modality={want}{extra}")
  if want == ONSET_APEX_FLOW and config["data"]["preprocess"].get("flow_normalize") != "none":
    raise MerjaxError("data.preprocess.flow_normalize: mdmo needs the raw flow in pixels; "
                      "set data.preprocess.flow_normalize=none")
  task = config["data"].get("task", "classification")
  if task != "classification":
    raise MerjaxError(f"data.task={task}: the baselines classify emotions only "
                      f"(data.task=classification)")
  train = config["train"]
  if train["seeds"] != 1:
    raise MerjaxError(f"train.seeds: {train['seeds']}; the baselines' linear SVM is "
                      f"deterministic, so a run has one seed (train.seeds=1)")
  if train["selection"]["rule"] != "last":
    raise MerjaxError(f"train.selection.rule: {train['selection']['rule']!r}; a baseline has "
                      f"no epochs to select (keep 'last')")
  return out
