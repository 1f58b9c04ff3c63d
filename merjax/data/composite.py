"""A cross-dataset composite: registered datasets loaded by name into one clip list
(`--dataset composite`; docs/au.md, docs/datasets.md).

Every clip keeps its member's dataset name (the `dataset` column of predictions.csv and the
per-dataset result rows) and its own labels and AU codes; subject keys are
`dataset/subject` (records.subjects_of), so subjects are unique across members and LOSO
over the composite holds out one person of one dataset, `data.folds=lodo` one dataset.
The AU label space is common through merjax/data/au.py's normalisation (data.task=au);
the emotion protocol `composite_3class` (merjax/data/labels.py, the default here) maps
every member's emotions to the MEGC 3 classes where the MEGC2019 mapping applies.

Options (data.options.*):
  members        list of registered dataset names, in load order (default: DEFAULT_MEMBERS
                 that are registered)
  roots          {member: its copy's root}; a member without one is looked for under
                 data.root (each loader finds its own sheet and frames up to 3 levels down)
  member_options {member: {option: value}} passed to that member's loader (checked
                 against its OPTIONS)
  problems / collect_errors   shared by every member (sheets.Report)
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from merjax.data import sheets
from merjax.errors import MerjaxError

NAME = "composite"
# CASME, CASME II, SAMM, MMEW, CAS(ME)^3 part A, 4DME (the first registered spelling each).
DEFAULT_MEMBERS = ("casme", "casme2", "samm", "mmew", "casme3", ("4dme", "fourdme"))
# Registered names that are not one dataset's copy.
NOT_MEMBERS = ("synthetic", "manifest", "tfds", NAME)
OPTIONS = {"members": None, "roots": {}, "member_options": {}}


def _registry():
  return importlib.import_module("merjax.data.registry")


def default_members() -> list[str]:
  """DEFAULT_MEMBERS that are registered now."""
  known = _registry().DATASETS
  out = []
  for entry in DEFAULT_MEMBERS:
    names = entry if isinstance(entry, tuple) else (entry,)
    out += [n for n in names if n in known][:1]
  return out


def _module(name: str):
  return importlib.import_module(_registry().DATASETS[name].split(":")[0])


def members_of(options: Mapping) -> list[str]:
  """The composite's member names, each checked: registered, one dataset's copy (not a
  composite), listed once (MerjaxError naming data.options.members)."""
  members = options.get("members")
  if members is None:
    return default_members()
  if not isinstance(members, (list, tuple)) or not members:
    raise MerjaxError(f"data.options.members: {members!r} is not a non-empty list of "
                      f"dataset names")
  registry = _registry()
  for name in members:
    if not isinstance(name, str) or name not in registry.DATASETS:
      raise MerjaxError(f"data.options.members: unknown dataset {name!r}; known: "
                        + ", ".join(sorted(n for n in registry.DATASETS
                                           if n not in NOT_MEMBERS)))
    if name in NOT_MEMBERS or hasattr(_module(name), "LOADERS"):
      raise MerjaxError(f"data.options.members: '{name}' is not one dataset's copy "
                        f"(a composite member is a single registered dataset)")
    if list(members).count(name) > 1:
      raise MerjaxError(f"data.options.members: '{name}' is listed twice")
  return list(members)


def check_composite_options(options: Mapping) -> None:
  """Checks the composite's options without reading data (one-line MerjaxErrors naming
  data.options.<key>)."""
  sheets.check_options(options, list(OPTIONS) + list(sheets.COMMON_OPTIONS))
  members = members_of(options)
  for key in ("roots", "member_options"):
    given = options.get(key) or {}
    if not isinstance(given, Mapping):
      raise MerjaxError(f"data.options.{key}: must be a dict keyed by member, got {given!r}")
    for name in given:
      if name not in members:
        raise MerjaxError(f"data.options.{key}.{name}: not a member (members: "
                          f"{', '.join(members)})")
  for name, root in (options.get("roots") or {}).items():
    if not isinstance(root, str) or not root:
      raise MerjaxError(f"data.options.roots.{name}: {root!r} is not a folder path")
  for name, given in (options.get("member_options") or {}).items():
    if not isinstance(given, Mapping):
      raise MerjaxError(f"data.options.member_options.{name}: must be a dict of {name} "
                        f"options, got {given!r}")
    if "protocol" in given:
      raise MerjaxError(f"data.options.member_options.{name}.protocol: set the label "
                        f"protocol with data.protocol")
    sheets.check_options(given, _module(name).OPTIONS, f"data.options.member_options.{name}")


def load(root: str | None, protocol: str | None = None, **options):
  """Every member's clips, members in order (labels and AU codes as each loader writes
  them); a member without clips is a MerjaxError naming it."""
  options = dict(options)
  report = sheets.report_of(options)
  check_composite_options(options)
  roots = options.get("roots") or {}
  extra = options.get("member_options") or {}
  registry = _registry()
  clips = []
  for name in members_of(options):
    where = roots.get(name) or root
    if not where:
      raise MerjaxError(f"data.options.roots.{name}: no root for member {name} (set it, or "
                        f"data.root)")
    part = registry.loader(name)(where, problems=report.problems,
                                 collect_errors=report.collect, **dict(extra.get(name) or {}))
    if not part and not report.collect:
      raise MerjaxError(f"composite member {name}: no clips under {where}")
    clips += part
  return sheets.filter_protocol(clips, protocol)
