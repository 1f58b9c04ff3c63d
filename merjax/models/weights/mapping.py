"""The generic mapping between a PyTorch state_dict and Flax variables.

A *converter* says, for every leaf of a model's Flax variables, which torch names it is
made from (`Leaf`); this module does the layouts and the bookkeeping:
- conv kernels OIHW -> HWIO (grouped and depthwise convs included: torch's O x I/g x kh x kw
  is flax's kh x kw x I/g x O; Conv3d OIDHW -> DHWIO), linear weights out x in -> in x out,
  a 1x1 conv into a Dense (squeeze-excitation) and back; BatchNorm weight / bias -> scale / bias (params) and
  running_mean / running_var -> mean / var (batch_stats); LayerNorm weight -> scale;
  singleton axes (ConvNeXt's C x 1 x 1 layer scale) squeezed;
- leaves built from several tensors or permuted (STSTNet's three streams, the flatten order
  before a classifier) carry their own `load` / `save`;
- `convert` fills the variables and reports *every* missing, shape-mismatched and unexpected
  name in one MerjaxError (strict), or leaves those leaves freshly initialised and lists
  them (`strict=False`, e.g. a head of a different class count);
- `export` is the inverse: Flax variables -> a torch-named, torch-layout state_dict.

Paths are tuples (collection, module, ..., leaf), e.g. ("params", "backbone", "conv1", "kernel").
"""

from __future__ import annotations

import dataclasses
from typing import Any
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from merjax.errors import MerjaxError

Path = tuple[str, ...]

# torch names without a flax counterpart in any merjax model.
ALWAYS_IGNORED = ("num_batches_tracked",)


@dataclasses.dataclass(frozen=True)
class Leaf:
  """How one Flax leaf is read from (and written back to) torch tensors.

  keys: the torch names it is made from. load(arrays, target_shape) -> flax array (default:
  `to_flax` of the one array); save(flax array) -> one array per key (default: `to_torch`).
  optional: a missing or mismatched source leaves the leaf as initialised (reported as
  skipped) even when the conversion is strict."""
  keys: tuple[str, ...]
  load: Callable[[list[np.ndarray], tuple[int, ...]], np.ndarray] | None = None
  save: Callable[[np.ndarray], list[np.ndarray]] | None = None
  optional: bool = False


@dataclasses.dataclass
class Report:
  """What a conversion did: loaded / skipped flax leaves, and the torch names it could
  not place. `skipped` holds (flax path, why) for leaves left as initialised."""
  loaded: list[Path] = dataclasses.field(default_factory=list)
  skipped: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
  missing: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
  mismatched: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
  unexpected: list[str] = dataclasses.field(default_factory=list)
  unused: list[str] = dataclasses.field(default_factory=list)   # torch names of parts not loaded

  @property
  def problems(self) -> list[str]:
    """Every missing, mismatched and unexpected name, as short phrases."""
    out = [f"missing {why} (for {'/'.join(p)})" for p, why in self.missing]
    out += [f"shape mismatch {why} (for {'/'.join(p)})" for p, why in self.mismatched]
    out += [f"unexpected {k}" for k in self.unexpected]
    return out

  def summary(self) -> str:
    """One line: counts, then every leaf left as initialised."""
    text = f"{len(self.loaded)} tensors loaded"
    if self.skipped:
      text += (f"; {len(self.skipped)} left as initialised: "
               + ", ".join(f"{'/'.join(p)} ({why})" for p, why in self.skipped))
    if self.unused:
      text += f"; {len(self.unused)} file tensors not used: " + ", ".join(self.unused)
    return text


def torch_leaf_name(collection: str, leaf: str) -> str:
  """The torch attribute of a flax leaf: kernel / scale -> weight, mean / var ->
  running_mean / running_var, bias and any other name unchanged."""
  if collection == "batch_stats":
    return {"mean": "running_mean", "var": "running_var"}.get(leaf, leaf)
  return {"kernel": "weight", "scale": "weight"}.get(leaf, leaf)


def _squeezed(a: np.ndarray, shape: Sequence[int]) -> np.ndarray | None:
  """a reshaped to `shape` when both are the same array up to singleton axes."""
  if tuple(a.shape) == tuple(shape):
    return a
  if [d for d in a.shape if d != 1] == [d for d in shape if d != 1]:
    return a.reshape(shape)
  return None


def to_flax(leaf: str, a: np.ndarray, shape: Sequence[int]) -> np.ndarray | None:
  """A torch tensor in the layout of flax leaf `leaf` of `shape` (None: it does not fit).
  kernel: OIHW -> HWIO, (out, in) -> (in, out), a 1x1 conv's O x I x 1 x 1 -> (I, O)."""
  shape = tuple(shape)
  if leaf == "kernel":
    if a.ndim == 4 and len(shape) == 4:
      a = a.transpose(2, 3, 1, 0)
    elif a.ndim == 4 and len(shape) == 2 and a.shape[2:] == (1, 1):
      a = a[:, :, 0, 0].T
    elif a.ndim == 2 and len(shape) == 2:
      a = a.T
    elif a.ndim == 2 and len(shape) == 4 and shape[:2] == (1, 1):
      a = a.T[None, None]
    elif a.ndim == 3 and len(shape) == 3:            # Conv1d: O x I x k -> k x I x O
      a = a.transpose(2, 1, 0)
    elif a.ndim == 5 and len(shape) == 5:            # Conv3d: OIDHW -> DHWIO
      a = a.transpose(2, 3, 4, 1, 0)
  return _squeezed(a, shape)


def to_torch(leaf: str, a: np.ndarray, torch_shape: Sequence[int] | None = None) -> np.ndarray:
  """The inverse of `to_flax`: HWIO -> OIHW, (in, out) -> (out, in); with `torch_shape`
  (the torch module's own), reshaped to it (a Dense written as a 1x1 conv)."""
  if leaf == "kernel":
    if a.ndim == 4:
      a = a.transpose(3, 2, 0, 1)
    elif a.ndim == 2:
      a = a.T
    elif a.ndim == 3:
      a = a.transpose(2, 1, 0)
    elif a.ndim == 5:
      a = a.transpose(4, 3, 0, 1, 2)
  if torch_shape is not None and tuple(torch_shape) != a.shape:
    if a.size != int(np.prod(torch_shape)):
      raise MerjaxError(f"export: {leaf} of shape {a.shape} does not fit torch shape "
                        f"{tuple(torch_shape)}")
    a = a.reshape(torch_shape)
  return np.ascontiguousarray(a)


def flatten(tree: Mapping, prefix: Path = ()) -> dict[Path, Any]:
  """{path tuple: leaf} of a nested mapping."""
  out = {}
  for k, v in tree.items():
    if isinstance(v, Mapping):
      out.update(flatten(v, prefix + (str(k),)))
    else:
      out[prefix + (str(k),)] = v
  return out


def unflatten(flat: Mapping[Path, Any]) -> dict:
  """The nested dict of {path tuple: leaf}."""
  out: dict = {}
  for path, v in flat.items():
    node = out
    for k in path[:-1]:
      node = node.setdefault(k, {})
    node[path[-1]] = v
  return out


def shape_of(x) -> tuple[int, ...]:
  return tuple(int(d) for d in np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)


@dataclasses.dataclass(frozen=True)
class Part:
  """One part of a model's converter: the flax subtree under `prefix` (a module path)
  named by `names(subpaths) -> {subpath: Leaf or None}` (subpaths: (collection, module...,
  leaf) below the prefix; None = no torch counterpart: left as initialised), read from torch
  names below `torch_prefix`. role: "backbone" (what model.pretrained loads) or "head"."""
  prefix: Path
  names: Callable[[list[Path]], Mapping[Path, Leaf | None]]
  torch_prefix: str = ""
  role: str = "backbone"


@dataclasses.dataclass(frozen=True)
class Converter:
  """A model's converter: its parts, the torch names it leaves unused by design
  (`ignore(name) -> bool`: reported in `Report.unused`, never an error; e.g. the torchvision
  classifier of a DIANet trunk), and a label for messages."""
  name: str
  parts: tuple[Part, ...]
  ignore: Callable[[str], bool] = lambda _name: False

  def leaves(self, paths: Iterable[Path], roles: Sequence[str] | None = None
             ) -> dict[Path, tuple[Part, Leaf | None]]:
    """{flax path: (part, Leaf or None)} for the paths under a part (of `roles`)."""
    paths = list(paths)
    out = {}
    for part in self.parts:
      if roles is not None and part.role not in roles:
        continue
      n = len(part.prefix)
      sub = [p for p in paths if p[1:1 + n] == part.prefix]
      named = part.names([(p[0],) + p[1 + n:] for p in sub])
      for p in sub:
        if p in out:                # an earlier part names it
          continue
        leaf = named.get((p[0],) + p[1 + n:])
        if leaf is not None and part.torch_prefix:
          leaf = dataclasses.replace(leaf, keys=tuple(
              f"{part.torch_prefix}.{k}" if k else part.torch_prefix for k in leaf.keys))
        out[p] = (part, leaf)
    return out


def by_module(module_key: Callable[[tuple[str, ...], frozenset], str | None],
              special: Callable[[Path, frozenset], Leaf | None] | None = None):
  """A Part.names from `module_key(module path, all module paths) -> torch module name`
  (None: no counterpart); each leaf's torch name is that + '.' + `torch_leaf_name`.
  `special(subpath, modules)` may return a Leaf of its own first."""
  def names(subpaths: list[Path]) -> dict[Path, Leaf | None]:
    modules = frozenset(p[1:-1] for p in subpaths)
    out = {}
    for p in subpaths:
      leaf = special(p, modules) if special is not None else None
      if leaf is None:
        key = module_key(p[1:-1], modules)
        if key is not None:
          name = torch_leaf_name(p[0], p[-1])
          leaf = Leaf((f"{key}.{name}" if key else name,))
      out[p] = leaf
    return out
  return names


def _load_leaf(leaf: Leaf, path: Path, arrays: list[np.ndarray], shape) -> np.ndarray | None:
  if leaf.load is not None:
    try:
      a = leaf.load(arrays, shape)
    except (ValueError, IndexError):
      return None
    return a if a is not None and shape_of(a) == shape else None
  return to_flax(path[-1], arrays[0], shape)


def convert(state: Mapping[str, np.ndarray], variables: Mapping, converter: Converter, *,
            strict: bool = True, roles: Sequence[str] | None = None,
            what: str = "weights") -> tuple[dict, Report]:
  """`variables` (a model's initialised Flax variables) with every leaf of the converter's
  parts (of `roles`; None = all) taken from `state` (a flat torch state_dict), and the
  Report. Leaves outside those parts keep their values. strict: any missing, mismatched or
  unexpected name is one MerjaxError listing them all; otherwise those leaves are left as
  initialised and listed in `report.skipped`."""
  flat = flatten(variables)
  report = Report()
  mapped = converter.leaves(flat, roles)
  other = converter.leaves(flat, None) if roles is not None else mapped
  used: set[str] = set()
  out = dict(flat)
  for path, (_part, leaf) in mapped.items():
    target = flat[path]
    shape = shape_of(target)
    if leaf is None:
      report.skipped.append((path, "no counterpart in the file's layout"))
      continue
    absent = [k for k in leaf.keys if k not in state]
    if absent:
      entry = (path, ", ".join(absent))
      (report.skipped if leaf.optional else report.missing).append(entry)
      continue
    used.update(leaf.keys)
    a = _load_leaf(leaf, path, [np.asarray(state[k]) for k in leaf.keys], shape)
    if a is None:
      got = " + ".join(f"{k} {tuple(np.shape(state[k]))}" for k in leaf.keys)
      entry = (path, f"{got} vs model {shape}")
      (report.skipped if leaf.optional else report.mismatched).append(entry)
      continue
    out[path] = a.astype(getattr(target, "dtype", a.dtype))
    report.loaded.append(path)
  other_keys = {k for p, (part, leaf) in other.items() if leaf is not None and p not in mapped
                for k in leaf.keys}
  for k in state:
    if k in used or k.rsplit(".", 1)[-1] in ALWAYS_IGNORED:
      continue
    (report.unused if k in other_keys or converter.ignore(k) else report.unexpected).append(k)
  if not strict:
    report.skipped += report.missing + report.mismatched
    report.unused += report.unexpected
    report.missing, report.mismatched, report.unexpected = [], [], []
  elif report.problems:
    raise MerjaxError(f"{what}: {len(report.problems)} names do not match {converter.name}: "
                      + "; ".join(report.problems))
  return unflatten(out), report


def export(variables: Mapping, converter: Converter,
           like: Mapping[str, Sequence[int]] | None = None) -> dict[str, np.ndarray]:
  """The torch state_dict (name -> array in torch layout) of Flax `variables` under the
  converter; `like` ({name: torch shape}, e.g. a torch module's state_dict shapes) reshapes
  where the layouts differ only in singleton axes (a Dense written back as a 1x1 conv)."""
  flat = flatten(variables)
  out: dict[str, np.ndarray] = {}
  for path, (_part, leaf) in converter.leaves(flat).items():
    if leaf is None:
      continue
    a = np.asarray(flat[path])
    if leaf.save is not None:
      arrays = leaf.save(a)
    else:
      arrays = [to_torch(path[-1], a, (like or {}).get(leaf.keys[0]))]
    for k, v in zip(leaf.keys, arrays):
      out[k] = np.ascontiguousarray(v)
  return out
