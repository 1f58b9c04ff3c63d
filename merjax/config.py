"""Configs are nested dicts of plain data (merjax/configs/), overridable by dotted `key=value`.

Every key, its default and its meaning live in merjax/configs/schema.py;
`resolve` loads a named config, applies overrides and validates the result
before any data is read.
"""

from __future__ import annotations

import ast
import copy
import importlib
import json
from typing import Any
from collections.abc import Sequence

from merjax.configs import schema
from merjax.errors import MerjaxError


def _config_module(name: str):
  try:
    return importlib.import_module(f"merjax.configs.{name}")
  except ModuleNotFoundError as e:
    if e.name and e.name.startswith("merjax.configs"):
      return None
    raise


def load_config(name: str) -> dict:
  """`merjax.configs.<name>.get_config()`, or a registered backbone's classifier config."""
  from merjax.models import registry  # pylint: disable=import-outside-toplevel
  module = _config_module(name)
  if module is not None and hasattr(module, "get_config"):
    return copy.deepcopy(module.get_config())
  if name in registry.MODELS:
    from merjax.configs import backbone  # pylint: disable=import-outside-toplevel
    return backbone.get_config(name)
  raise MerjaxError(f"--model {name}: no config merjax/configs/{name}.py and no registered "
                    f"model of that name; " + schema.closest(name, registry.MODELS))


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
  """Sets config[a][b][c] = value for dotted "a.b.c" (a key the schema knows)."""
  schema.lookup(dotted)
  keys = dotted.split(".")
  node = config
  for i, key in enumerate(keys[:-1]):
    if not isinstance(node.get(key), dict):
      if node.get(key) is None:
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


def split_override(item: str) -> tuple[str, Any]:
  """("a.b", value) of "a.b=value"; the key resolved through ALIASES."""
  key, sep, text = item.partition("=")
  if not sep or not key:
    raise MerjaxError(f"override '{item}' is not key=value")
  return canonical_key(key.strip()), parse_value(text)


def apply_overrides(config: dict, overrides: Sequence[str]) -> dict:
  """Applies "a.b=value" strings to a copy of config (keys may be ALIASES)."""
  config = copy.deepcopy(config)
  for item in overrides:
    set_path(config, *split_override(item))
  return config


def resolve(model: str, dataset: str, overrides: Sequence[str] = (), *, quick: bool = False,
            seeds: int | None = None, sweep: dict | None = None) -> dict:
  """The validated config of `--model` on `--dataset` with QUICK (optional),
  the overrides, `--seeds` and a sweep section applied, in that order."""
  config = load_config(model)
  config["data"]["dataset"] = dataset
  if quick:
    config = apply_overrides(config, quick_overrides(model))
  config = apply_overrides(config, overrides)
  if seeds is not None:
    config["train"]["seeds"] = seeds
  if sweep is not None:
    config["sweep"] = sweep
  return schema.validate(config)
