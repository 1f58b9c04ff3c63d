"""Configs are nested dicts of plain data, overridable by dotted `key=value`."""

from __future__ import annotations

import ast
import copy
import importlib
import json
from typing import Any, Sequence

from merjax.errors import MerjaxError


def _config_module(name: str):
  try:
    return importlib.import_module(f"merjax.configs.{name}")
  except ModuleNotFoundError as e:
    if e.name and e.name.startswith("merjax.configs"):
      raise MerjaxError(f"no config '{name}' in merjax/configs/") from None
    raise


def load_config(name: str) -> dict:
  """`merjax.configs.<name>.get_config()`, deep-copied."""
  return copy.deepcopy(_config_module(name).get_config())


def quick_overrides(name: str) -> list[str]:
  """`merjax.configs.<name>.QUICK`: overrides for a minutes-long CPU run."""
  quick = getattr(_config_module(name), "QUICK", None)
  if quick is None:
    raise MerjaxError(f"config '{name}' has no QUICK overrides (merjax/configs/{name}.py)")
  return list(quick)


def parse_value(text: str) -> Any:
  """JSON or a Python literal when it parses as one, else the string itself."""
  for parse in (json.loads, ast.literal_eval):
    try:
      return parse(text)
    except (ValueError, SyntaxError):
      pass
  return text


def set_path(config: dict, dotted: str, value: Any) -> None:
  """Sets config[a][b][c] = value for dotted "a.b.c"; intermediate dicts must exist."""
  keys = dotted.split(".")
  node = config
  for i, key in enumerate(keys[:-1]):
    if not isinstance(node.get(key), dict):
      if key not in node:
        node[key] = {}
      else:
        raise MerjaxError(f"override {dotted}: {'.'.join(keys[:i + 1])} is not a group")
    node = node[key]
  node[keys[-1]] = value


# Short names accepted wherever a dotted key is (overrides and sweep grids).
ALIASES = {
    "data.modality": "data.inputs.image",            # single-input models
    "train.lr": "train.optimizer.learning_rate",
    "train.weight_decay": "train.optimizer.weight_decay",
}


def canonical_key(key: str) -> str:
  """The dotted config path an override key names (ALIASES resolved)."""
  return ALIASES.get(key, key)


def apply_overrides(config: dict, overrides: Sequence[str]) -> dict:
  """Applies "a.b=value" strings to a copy of config (keys may be ALIASES)."""
  config = copy.deepcopy(config)
  for item in overrides:
    if "=" not in item:
      raise MerjaxError(f"override '{item}' is not key=value")
    key, text = item.split("=", 1)
    set_path(config, canonical_key(key), parse_value(text))
  return config
