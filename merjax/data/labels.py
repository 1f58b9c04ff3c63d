"""Label protocols by name.

Each protocol fixes an ordered class tuple (integer code = position) and maps
the dataset's raw label names (lower case, as the loaders store them) onto it.
Raw labels outside a protocol's mapping are dropped by `LabelProtocol.apply`.

Class orders (the integer codes):
  casme2_5class      happiness, disgust, repression, surprise, others
  *_3class, megc2019_3class
                     negative, positive, surprise   (the MEGC2019 codes 0/1/2)
  samm_5class_fdp    anger, contempt, happiness, surprise, other  (other = "Other")
  samm_5class_mesti  anger, contempt, happiness, surprise, other
                     (other = Other + disgust + fear + sadness)
  casme_sq_4class    positive, negative, surprise, others
  casme3_7class      happy, disgust, surprise, fear, anger, sad, others
  mmew_6class        happiness, surprise, disgust, fear, sadness, others
  fdp_cross3         happiness, surprise, others  (CASME II "others", SAMM "other")
  dianet             data-dependent: the raw labels with >= 10 samples, in
                     alphabetical order
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping, Sequence

from merjax.data.protocols import LabelProtocol, identity_protocol
from merjax.data.records import Clip
from merjax.errors import MerjaxError

MEGC3 = ("negative", "positive", "surprise")


def _three(name: str, negative: Sequence[str], positive: Sequence[str],
           surprise: Sequence[str] = ("surprise",)) -> LabelProtocol:
  mapping = {n: "negative" for n in negative}
  mapping.update({p: "positive" for p in positive})
  mapping.update({s: "surprise" for s in surprise})
  return LabelProtocol(name, MEGC3, mapping)


SAMM5 = ("anger", "contempt", "happiness", "surprise", "other")


def dianet(clips: Sequence[Clip], min_samples: int = 10) -> LabelProtocol:
  """DIANet's rule: keep the raw labels with at least `min_samples` clips."""
  counts = collections.Counter(c.label.lower() for c in clips)
  classes = sorted(k for k, n in counts.items() if n >= min_samples)
  if not classes:
    raise MerjaxError(f"protocol dianet: no label has {min_samples} or more samples")
  return identity_protocol("dianet", classes)


PROTOCOLS: dict[str, LabelProtocol | Callable[[Sequence[Clip]], LabelProtocol]] = {
    "casme2_5class": identity_protocol(
        "casme2_5class", ("happiness", "disgust", "repression", "surprise", "others")),
    "casme2_3class": _three("casme2_3class",
                            ("disgust", "repression", "fear", "sadness"), ("happiness",)),
    "samm_5class_fdp": identity_protocol("samm_5class_fdp", SAMM5),
    "samm_5class_mesti": LabelProtocol(
        "samm_5class_mesti", SAMM5,
        {**{c: c for c in SAMM5}, "disgust": "other", "fear": "other", "sadness": "other"}),
    "samm_3class": _three("samm_3class",
                          ("anger", "contempt", "disgust", "fear", "sadness"), ("happiness",)),
    "smic_3class": identity_protocol("smic_3class", MEGC3),
    "megc2019_3class": identity_protocol("megc2019_3class", MEGC3),
    "casme_sq_4class": identity_protocol(
        "casme_sq_4class", ("positive", "negative", "surprise", "others")),
    "casme3_7class": identity_protocol(
        "casme3_7class", ("happy", "disgust", "surprise", "fear", "anger", "sad", "others")),
    "casme3_3class": _three("casme3_3class", ("disgust", "anger", "fear", "sad"), ("happy",)),
    "mmew_6class": identity_protocol(
        "mmew_6class", ("happiness", "surprise", "disgust", "fear", "sadness", "others")),
    "fdp_cross3": LabelProtocol(
        "fdp_cross3", ("happiness", "surprise", "others"),
        {"happiness": "happiness", "surprise": "surprise", "others": "others",
         "other": "others"}),
    "dianet": dianet,
    # merjax.data.composite: every member's emotions onto the MEGC 3 classes where the
    # MEGC2019 mapping applies (the union of casme2/samm/casme3_3class; CASME's and 4DME's
    # own words too); others, tense and the like are dropped.
    "composite_3class": _three(
        "composite_3class", ("disgust", "repression", "fear", "sadness", "sad", "anger",
                             "contempt", "negative"), ("happiness", "happy", "positive")),
}

# The protocol check_data and the composite use when none is named.
DEFAULT_PROTOCOL = {
    "casme2": "casme2_5class", "samm": "samm_5class_fdp", "smic": "smic_3class",
    "casme_sq": "casme_sq_4class", "casme3": "casme3_7class", "mmew": "mmew_6class",
    "megc2019": "megc2019_3class", "casme2_samm": "fdp_cross3",
    "composite": "composite_3class",
}


def get_protocol(name: str, clips: Sequence[Clip] | None = None) -> LabelProtocol:
  """The protocol called `name`; data-dependent rules are built from `clips`."""
  if name not in PROTOCOLS:
    raise MerjaxError(f"unknown label protocol '{name}'; known: {', '.join(sorted(PROTOCOLS))}")
  entry = PROTOCOLS[name]
  if isinstance(entry, LabelProtocol):
    return entry
  if clips is None:
    raise MerjaxError(f"label protocol '{name}' depends on the data: pass the clips")
  return entry(clips)


def protocol_for(data_cfg: Mapping, clips: Sequence[Clip]) -> LabelProtocol:
  """The label protocol of a config's `data` group: data.protocol, else the
  dataset's default (DEFAULT_PROTOCOL; for --dataset tfds that of the one dataset
  it holds), else every label present (synthetic: in CLASS_NAMES order; others
  sorted)."""
  from merjax.configs import schema  # pylint: disable=import-outside-toplevel
  data_cfg = schema.data_group(data_cfg)
  dataset = data_cfg["dataset"]
  name = data_cfg["protocol"] or DEFAULT_PROTOCOL.get(dataset)
  present = {c.dataset for c in clips}
  if not name and dataset == "tfds" and len(present) == 1:
    name = DEFAULT_PROTOCOL.get(present.pop())   # a prepared TFDS copy of one dataset
  if name:
    return get_protocol(name, clips)
  labels = {c.label for c in clips}
  if dataset == "synthetic":
    from merjax.data.synthetic import CLASS_NAMES  # pylint: disable=import-outside-toplevel
    return identity_protocol("synthetic", [c for c in CLASS_NAMES if c in labels])
  return identity_protocol("labels_sorted", sorted(labels))


def apply_protocol(data_cfg: Mapping, clips: Sequence[Clip], log=None):
  """(protocol, kept clips, y_N int32, dropped raw-label counts): the one place a
  run's label protocol is chosen and applied. Drops are logged; a protocol that
  keeps no clip is a MerjaxError naming it and the labels present."""
  protocol = protocol_for(data_cfg, clips)
  kept, y_N, dropped = protocol.apply(clips)
  if dropped and log is not None:
    log(f"protocol {protocol.name}: dropped labels {dropped}")
  if not kept:
    present = sorted({c.label for c in clips})
    raise MerjaxError(f"protocol {protocol.name}: no clip left of {len(clips)} (labels present: "
                      f"{', '.join(present) or 'none'}; classes: {', '.join(protocol.classes)})")
  return protocol, kept, y_N, dropped
