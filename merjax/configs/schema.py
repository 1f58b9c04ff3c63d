"""Every config key in one place: its default, what it must be, what it means.

A config is a nested dict of plain data. `defaults()` is the base every
experiment config starts from; `validate(config)` checks a resolved config
before any data is read and returns it completed with the defaults of keys it
omits. An unknown key is a one-line MerjaxError naming it and the closest
known keys (`train.epoch: unknown key; did you mean train.epochs?`).

Groups marked OPEN hold keys that a consumer defines (a model's fields, a
loader's options, an optimizer's hyperparameters, a loss's terms, augmentation
strengths, preprocessing); `validate` hands them to that consumer, which
rejects unknown keys with the same kind of message.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
from typing import Any
from collections.abc import Callable, Iterable, Mapping

from merjax.errors import MerjaxError


@dataclasses.dataclass(frozen=True)
class Key:
  """One config leaf: `check(value)` returns a problem ("is not ...") or None."""
  default: Any
  meaning: str
  check: Callable[[Any], str | None] = lambda v: None


OPEN = "__open__"        # a group whose keys its consumer validates
DEFAULT = "__default__"  # an open group's default contents


# ---------------------------------------------------------------- value checks


def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


def integer(minimum: int | None = None) -> Callable[[Any], str | None]:
  def check(v):
    if not _is_int(v):
      return f"{v!r} is not an integer"
    if minimum is not None and v < minimum:
      return f"{v} is below its minimum {minimum}"
    return None
  return check


def number(low: float | None = None, high: float | None = None, *,
           open_low: bool = False, open_high: bool = False) -> Callable[[Any], str | None]:
  def check(v):
    if not _is_number(v):
      return f"{v!r} is not a number"
    if low is not None and (v < low or (open_low and v == low)):
      return f"{v} is {'not above' if open_low else 'below'} {low}"
    if high is not None and (v > high or (open_high and v == high)):
      return f"{v} is {'not below' if open_high else 'above'} {high}"
    return None
  return check


def one_of(*choices) -> Callable[[Any], str | None]:
  def check(v):
    return None if v in choices else f"{v!r} is not one of {', '.join(map(repr, choices))}"
  return check


def boolean(v) -> str | None:
  return None if isinstance(v, bool) else f"{v!r} is not true/false"


def text_or_none(v) -> str | None:
  return None if v is None or isinstance(v, str) else f"{v!r} is not a string"


def text(v) -> str | None:
  return None if isinstance(v, str) else f"{v!r} is not a string"


def _au_set(v) -> str | None:
  from merjax.data import au  # pylint: disable=import-outside-toplevel
  return au.check_set(v)


SELECTION_RULES = ("last", "inner_val", "oracle")
STRATEGIES = ("vmap", "sequential", "chunked")
PARAM_DTYPES = ("float32", "bfloat16", "float64")
FOLD_PROTOCOLS = ("loso", "split", "cross", "lodo")
TASKS = ("classification", "au")
ONSET_APEX_POLICIES = ("error", "drop")

SCHEMA: dict = {
    "model": {
        OPEN: "model fields (merjax/models/registry.py checks them against the module)",
        "name": Key(None, "model registry name (merjax/models/registry.py)", text_or_none),
    },
    "data": {
        "dataset": Key("synthetic", "dataset registry name (merjax/data/registry.py)", text),
        "root": Key(None, "a real dataset's root folder (a TFDS dataset's version folder)",
                    text_or_none),
        "manifest": Key(None, "CSV path for --dataset manifest", text_or_none),
        "protocol": Key(None, "label protocol name (merjax/data/labels.py); None = the "
                        "dataset's default", text_or_none),
        "folds": Key("loso", "loso | split (stratified test share) | cross (train on one "
                     "dataset, test on another) | lodo (leave one dataset of a composite out)",
                     one_of(*FOLD_PROTOCOLS)),
        "task": Key("classification", "classification (emotion classes of data.protocol) | au "
                    "(multi-label action units of data.action_units; docs/au.md)",
                    one_of(*TASKS)),
        "action_units": Key(["AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12",
                             "AU14", "AU15", "AU17"],
                            "task au: the AU set, one sigmoid output each (codes normalised "
                            "by merjax/data/au.py; docs/au.md)", _au_set),
        "test_fraction": Key(0.1, "split protocol's test share, in (0, 1)",
                             number(0, 1, open_low=True, open_high=True)),
        "split_rule": Key("per_class", "split protocol's test count: per_class (round each "
                          "class's share) | total (round the total share, stratified as "
                          "scikit-learn's train_test_split; docs/mesti.md)",
                          one_of("per_class", "total")),
        "train_dataset": Key("", "cross protocol: the dataset trained on", text),
        "test_dataset": Key("", "cross protocol: the dataset tested on", text),
        "onset_equals_apex": Key("error", "clips a motion modality cannot use (onset == apex, "
                                 "apex == offset, too few frames): error | drop "
                                 "(docs/datasets.md)",
                                 one_of(*ONSET_APEX_POLICIES)),
        "inputs": {OPEN: "model input role -> modality name (merjax/modalities/registry.py)",
                   DEFAULT: {"image": "onset_apex_diff"}},
        "preprocess": {OPEN: "frame preprocessing (merjax/modalities/stage.py "
                       "PREPROCESS_DEFAULTS; docs/modalities.md)",
                       DEFAULT: {"size": 64, "grayscale": False}},
        "input_scale": Key(1.0, "multiplies every input array once, in the modality stage",
                           number(0, open_low=True)),
        "standardize": Key(False, "per fold: (x - mean) / std of its training samples", boolean),
        "channel_order": Key("rgb", "channel order of the staged inputs: rgb | bgr (reversed, as "
                             "cv2.imread reads; STSTNet's reference: docs/weights.md)",
                             one_of("rgb", "bgr")),
        "cache_dir": Key(None, "modality cache; None = $MERJAX_CACHE or ~/.cache/merjax, "
                         "\"\" = off", text_or_none),
        "synthetic": {OPEN: "SyntheticConfig overrides (merjax/data/synthetic.py)"},
        "options": {OPEN: "a real dataset loader's options (its load() keyword arguments)"},
    },
    "train": {
        "epochs": Key(10, "epochs per member", integer(1)),
        "total_steps": Key(0, "> 0: train each member this many optimizer steps "
                           "(overrides epochs)", integer(0)),
        "batch_size": Key(32, "training batch size per member", integer(1)),
        "last_batch": Key("full", "full: every step a full batch (the last wraps around the "
                          "shuffled training set) | partial: the last step holds the remaining "
                          "samples, masked (PyTorch's DataLoader without drop_last)",
                          one_of("full", "partial")),
        "shuffle": Key(True, "true: a fresh shuffle of the training samples every epoch | false: "
                       "their dataset order every epoch (the official STSTNet loop)", boolean),
        "optimizer": {OPEN: "name + hyperparameters (merjax/training/optim.py)",
                      DEFAULT: {"learning_rate": 1e-3, "weight_decay": 0.0},
                      "name": Key("adam", "optimizer name (merjax/training/optim.py)", text)},
        "loss": {OPEN: "name + terms (merjax/training/losses.py)",
                 "name": Key("cross_entropy", "loss name (merjax/training/losses.py)", text)},
        "augment": {OPEN: "on-device augmentation strengths (merjax/training/augment.py)"},
        "augment_inputs": Key(None, "input roles augmented; None = every role",
                              lambda v: None if v is None or (
                                  isinstance(v, (list, tuple)) and all(
                                      isinstance(r, str) for r in v))
                              else f"{v!r} is not a list of input roles"),
        "selection": {
            "rule": Key("last", "last epoch | inner_val (early stopping on held-out training "
                        "subjects) | oracle (epoch chosen on the test subject: labelled)",
                        one_of(*SELECTION_RULES)),
            "val_subjects": Key(1, "inner_val: training subjects held out per member",
                                integer(1)),
            "patience": Key(10, "inner_val: epochs without improvement before stopping",
                            integer(1)),
        },
        "strategy": Key("sequential", "vmap | sequential | chunked (docs/benchmarks.md)",
                        one_of(*STRATEGIES)),
        "group_size": Key(0, "members per compiled call; 0 = auto (memory estimate)",
                          integer(0)),
        "chunk": Key(2, "members per vmap chunk for strategy chunked", integer(1)),
        "memory_fraction": Key(0.35, "group_size=0 (auto) with strategy vmap / chunked: the "
                               "share of the device's memory "
                               "(a CPU: the host's RAM) the members of one call may take, less "
                               "what the process already holds; the rest is left to the "
                               "process and a second run (strategies.MEMORY_FRACTION)",
                               number(0.0, 1.0, open_low=True)),
        "checkpoint_every": Key(5, "epochs between checkpoints of the group in flight; 0 = none",
                                integer(0)),
        "save_final": Key(True, "keep each fold model (checkpoints/final) for "
                          "experiments.predict", boolean),
        "seed": Key(0, "first seed", integer(0)),
        "seeds": Key(1, "seeds per fold: seed, seed+1, ...", integer(1)),
        "eval_batch_size": Key(64, "batch size of evaluation passes", integer(1)),
        "param_dtype": Key("float32", "parameter dtype", one_of(*PARAM_DTYPES)),
    },
    "sweep": {
        "grid": {OPEN: "dotted config key -> list of values (every combination is trained)"},
        "select": Key("none", "none | nested (a combination per outer fold by inner LOSO)",
                      one_of("none", "nested")),
        "inner_folds": Key(0, "nested: 0 = one inner fold per training subject, k = k groups",
                           integer(0)),
        "select_metric": Key("uf1", "nested: pooled inner metric to maximise",
                             one_of("uf1", "uar", "acc", "war")),
    },
    # Written by merjax itself into a combination's / a selection's config.json.
    "sweep_combination": Key(None, "a sweep combination's index and values (written by merjax)"),
    "sweep_selection": Key(None, "how nested selection chose (written by merjax)"),
    "run_processes": Key(None, "processes and devices of the run that wrote this config.json "
                               "(written by merjax; a resume may use other counts)"),
}

OPTIONAL_GROUPS = ("sweep",)   # present only in sweep configs


def unknown_key(dotted: str, known: Iterable[str], what: str = "") -> MerjaxError:
  """`a.b: unknown key[ of what]; did you mean a.c?` (or the known keys when none is close)."""
  prefix = dotted.rsplit(".", 1)[0] + "." if "." in dotted else ""
  names = sorted(known)
  close = difflib.get_close_matches(dotted.rsplit(".", 1)[-1], names, n=3, cutoff=0.6)
  hint = (f"did you mean {' or '.join(prefix + c for c in close)}?" if close
          else f"known: {', '.join(names) if names else 'none'}")
  return MerjaxError(f"{dotted}: unknown key{' of ' + what if what else ''}; {hint}")


def check_keys(given: Iterable[str], known: Iterable[str], prefix: str, what: str = "") -> None:
  """MerjaxError (unknown_key) for the first of `given` not in `known`."""
  known = set(known)
  for key in given:
    if key not in known:
      raise unknown_key(f"{prefix}.{key}" if prefix else key, known, what)


def defaults(schema: Mapping = SCHEMA, skip=OPTIONAL_GROUPS) -> dict:
  """The nested dict of every key's default (open groups: their default contents)."""
  out = copy.deepcopy(schema.get(DEFAULT, {}))
  for k, node in schema.items():
    if k in (OPEN, DEFAULT) or k in skip:
      continue
    out[k] = defaults(node, ()) if isinstance(node, dict) else copy.deepcopy(node.default)
  return out


def _walk(config: Mapping, schema: Mapping, path: str) -> dict:
  """Checks known keys and values, completes defaults; open groups keep extra keys."""
  out = {}
  is_open = OPEN in schema
  if not is_open:
    check_keys(config, [k for k in schema if k != DEFAULT], path)
  for key, value in config.items():
    dotted = f"{path}.{key}" if path else key
    node = schema.get(key)
    if node is None:
      out[key] = value                 # an open group's own key: its consumer checks it
    elif isinstance(node, dict):
      if not isinstance(value, Mapping):
        raise MerjaxError(f"{dotted}: {value!r} is not a group of keys")
      out[key] = _walk(value, node, dotted)
    else:
      problem = node.check(value)
      if problem:
        raise MerjaxError(f"{dotted}: {problem}")
      out[key] = value
  for key, node in schema.items():
    if key in (OPEN, DEFAULT) or key in out or (not path and key in OPTIONAL_GROUPS):
      continue
    out[key] = defaults(node, ()) if isinstance(node, dict) else copy.deepcopy(node.default)
  return out


def data_group(data_cfg: Mapping) -> dict:
  """A `data` group completed with the schema's defaults (keys and values checked):
  what the data package reads, whether the whole config was validated or not."""
  return _walk(data_cfg, SCHEMA["data"], "data")


def lookup(dotted: str) -> Key | dict:
  """The schema node of a dotted key; MerjaxError naming it when unknown.

  A key inside an open group returns that group (its consumer checks it)."""
  node: Any = SCHEMA
  parts = dotted.split(".")
  for i, part in enumerate(parts):
    if not isinstance(node, dict):
      raise MerjaxError(f"{dotted}: {'.'.join(parts[:i])} is not a group")
    if part not in node or part in (OPEN, DEFAULT):
      if OPEN in node:
        return node
      known = [k for k in node if k not in (OPEN, DEFAULT)]
      close = difflib.get_close_matches(part, known, n=3, cutoff=0.6)
      if not close:
        raise unknown_key(".".join(parts[:i + 1]), known)
      guesses = [".".join(parts[:i] + [c] + parts[i + 1:]) for c in close]
      raise MerjaxError(f"{dotted}: unknown key; did you mean {' or '.join(guesses)}?")
    node = node[part]
  return node


def check_combinations(config: Mapping) -> None:
  """Value combinations that make no sense, each a one-line MerjaxError."""
  data = config["data"]
  if data["folds"] == "cross":
    missing = [f"data.{k}" for k in ("train_dataset", "test_dataset") if not data[k]]
    if missing:
      raise MerjaxError(f"data.folds=cross needs {' and '.join(missing)} "
                        f"(the dataset names of the composite to train and test on)")
    if data["train_dataset"] == data["test_dataset"]:
      raise MerjaxError(f"data.folds=cross: data.train_dataset and data.test_dataset are both "
                        f"'{data['train_dataset']}'; a cross-dataset result needs two datasets")
  if data["dataset"] == "manifest" and not data["manifest"]:
    raise MerjaxError("--dataset manifest needs data.manifest=/path/to/manifest.csv")
  # (a composite's members may each have their own root: its loader names a missing one)
  if data["dataset"] not in ("synthetic", "manifest", "composite") and not data["root"]:
    raise MerjaxError(f"--dataset {data['dataset']} needs data.root=/path/to/{data['dataset']}")
  if not data["inputs"]:
    raise MerjaxError("data.inputs: no input role (set data.modality=NAME)")
  _check_task(config)


def _check_task(config: Mapping) -> None:
  """data.task=au needs a multi-label loss and folds that do not stratify by class; the
  multi-label loss needs data.task=au (docs/au.md)."""
  from merjax.training import losses  # pylint: disable=import-outside-toplevel
  data, train = config["data"], config["train"]
  multilabel = train["loss"]["name"] in losses.MULTILABEL
  if data["task"] == "au":
    if not multilabel:
      raise MerjaxError(f"data.task=au: train.loss.name={train['loss']['name']!r} is a "
                        f"classification loss; set train.loss.name="
                        f"{' or '.join(losses.MULTILABEL)} (--task au does)")
    if data["folds"] == "split":
      raise MerjaxError("data.task=au: data.folds=split stratifies by emotion class; "
                        "use loso, lodo or cross")
    if "sweep" in config and config["sweep"]["select"] == "nested":
      raise MerjaxError("data.task=au: sweep.select=nested ranks classification metrics; "
                        "not available for AU runs")
  elif multilabel:
    raise MerjaxError(f"train.loss.name={train['loss']['name']!r} is a multi-label loss: "
                      f"set data.task=au")


def check_consumers(config: Mapping) -> None:
  """Hands each open group to the module that defines its keys."""
  # pylint: disable=import-outside-toplevel
  from merjax.data import registry as data_registry
  from merjax.modalities import registry as modality_registry
  from merjax.modalities import stage
  from merjax.models import registry as model_registry
  from merjax.training import augment, losses, optim
  data, train = config["data"], config["train"]
  data_registry.check_options(data)
  for role, modality in data["inputs"].items():
    if modality not in modality_registry.MODALITIES:
      raise MerjaxError(f"data.inputs.{role}: unknown modality {modality!r}; "
                        + closest(str(modality), modality_registry.MODALITIES))
  stage.resolve_preprocess(data["preprocess"])
  from merjax import baselines
  if baselines.is_baseline(config["model"]["name"]):
    baselines.check_config(config)     # hand-crafted features + SVM (docs/baselines.md)
  else:
    model_registry.check_config(config["model"])
  optim.check_config(train["optimizer"])
  losses.check_config(train["loss"])
  augment.check_config(train["augment"])


def closest(name: str, known: Iterable[str]) -> str:
  """"did you mean X?" for the known names close to `name`, else the known names."""
  close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
  return (f"did you mean {' or '.join(close)}?" if close
          else f"known: {', '.join(sorted(known))}")


def validate(config: Mapping) -> dict:
  """The config completed with defaults, after every check; MerjaxError on the first problem."""
  out = _walk(config, SCHEMA, "")
  if out["model"].get("name") is None:
    raise MerjaxError("model.name: no model named (--model NAME)")
  check_combinations(out)
  check_consumers(out)
  if "sweep" in out:
    for key in out["sweep"]["grid"]:
      node = lookup(key)
      if isinstance(node, Key) and key.startswith("sweep"):
        raise MerjaxError(f"grid.{key}: a sweep cannot sweep its own settings")
  return out
