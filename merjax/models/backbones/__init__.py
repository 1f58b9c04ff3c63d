"""ImageNet-standard CNN backbones (torchvision / timm architectures) in Flax Linen.

Each trunk maps x_BxHxWxC to {"features": B x D, "feature_map": B x h x w x D'}.
`BACKBONES` is the one table of them, shared by `--model <backbone>` (a trunk wrapped in
`common.Classifier`, which reads batch["image"] and returns {"logits": B x K, "features":
B x D}; built by merjax/models/registry.py) and by DIANet's streams (merjax/models/dianet.py).
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any
from collections.abc import Mapping

from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models.backbones import common, convnext, efficientnet, mobilevit, resnet, vgg
from merjax.models.layers import resolve_dtype


@dataclasses.dataclass(frozen=True)
class Backbone:
  """One registered trunk: its class, the fields that make it this architecture (defaults
  a config may override), the classifier head's default dropout, and whether `dropout` is
  a trunk field (VGG's fc6/fc7 dropout, torchvision's `dropout`) rather than the head's."""
  trunk: type[nn.Module]
  fixed: Mapping[str, Any]
  head_dropout: float = 0.0
  dropout_in_trunk: bool = False
  # "features" is the global average of "feature_map" (same width D): DIANet projects
  # both with one layer, so it needs this.
  pooled_features: bool = True


BACKBONES: dict[str, Backbone] = {
    "vgg19": Backbone(vgg.VGG, {"config": vgg.VGG19_CONFIG}, dropout_in_trunk=True,
                      pooled_features=False),
    "resnet18": Backbone(resnet.ResNet, {"stage_sizes": (2, 2, 2, 2), "bottleneck": False}),
    "resnet50": Backbone(resnet.ResNet, {"stage_sizes": (3, 4, 6, 3), "bottleneck": True}),
    "efficientnet_b0": Backbone(efficientnet.EfficientNet,
                                {"blocks": efficientnet.B0_BLOCKS, "last_channel": None,
                                 "bn_eps": 1e-5}, head_dropout=0.2),
    "efficientnetv2_s": Backbone(efficientnet.EfficientNet,
                                 {"blocks": efficientnet.V2_S_BLOCKS, "last_channel": 1280,
                                  "bn_eps": 1e-3}, head_dropout=0.2),
    "convnext_tiny": Backbone(convnext.ConvNeXt,
                              {"depths": (3, 3, 9, 3), "dims": (96, 192, 384, 768)}),
    "mobilevit_s": Backbone(mobilevit.MobileViT, {"stages": mobilevit.MOBILEVIT_S_STAGES}),
}

# Classifier fields a `--model <backbone>` config may set besides the trunk's.
HEAD_FIELDS = ("dropout", "return_feature_map", "input_norm", "dtype")


def get(name: str, what: str = "backbone") -> Backbone:
  """The registered backbone `name`; MerjaxError naming the closest ones otherwise."""
  if name not in BACKBONES:
    close = difflib.get_close_matches(str(name), list(BACKBONES), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(BACKBONES)}"
    raise MerjaxError(f"{what}: unknown backbone {name!r}; {hint}")
  return BACKBONES[name]


def trunk_fields(name: str) -> set[str]:
  """The fields of backbone `name`'s trunk a config may set (its dtype excluded)."""
  cls = get(name).trunk
  return {f.name for f in dataclasses.fields(cls)} - {"parent", "name", "dtype"}


def check_options(name: str, options: Mapping[str, Any], prefix: str) -> None:
  """MerjaxError `<prefix>.<key>: unknown field of backbone '<name>'; did you mean ...`
  for the first key of `options` that is not a trunk field."""
  known = trunk_fields(name)
  for key in options:
    if key not in known:
      close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
      hint = (f"did you mean {' or '.join(f'{prefix}.{c}' for c in close)}?" if close
              else f"fields: {', '.join(sorted(known))}")
      raise MerjaxError(f"{prefix}.{key}: unknown field of backbone '{name}'; {hint}")


def make_trunk(name: str, options: Mapping[str, Any] | None = None, dtype: Any = None,
               module_name: str | None = None, prefix: str = "model") -> nn.Module:
  """The trunk of backbone `name`: its fixed fields, then `options` (trunk fields; an
  unknown one is a MerjaxError naming `<prefix>.<key>`)."""
  entry = get(name)
  options = dict(options or {})
  check_options(name, options, prefix)
  return entry.trunk(**{**entry.fixed, **options, "dtype": resolve_dtype(dtype)},
                     name=module_name)


def classifier_fields(name: str) -> set[str]:
  """The model.* fields of `--model <name>`: the trunk's and the head's."""
  get(name)
  return trunk_fields(name) | set(HEAD_FIELDS)


def make_classifier(name: str, fields: Mapping[str, Any], num_classes: int) -> nn.Module:
  """`--model <name>`: the trunk + Linear(D, K) head (`common.Classifier`) on batch["image"].
  `fields`: trunk fields plus `dropout` (the head's, or VGG's trunk dropout),
  `return_feature_map`, `input_norm` (none | imagenet) and `dtype`."""
  entry = get(name)
  fields = dict(fields)
  dtype = resolve_dtype(fields.pop("dtype", None))
  return_feature_map = bool(fields.pop("return_feature_map", False))
  input_norm = fields.pop("input_norm", "none")
  if input_norm not in common.INPUT_NORMS:
    raise MerjaxError(f"model.input_norm: {input_norm!r} is not one of {common.INPUT_NORMS}")
  head_dropout = entry.head_dropout
  if "dropout" in fields and not entry.dropout_in_trunk:
    head_dropout = fields.pop("dropout")
  trunk = make_trunk(name, fields, dtype)
  return common.Classifier(backbone=trunk, num_classes=num_classes, dropout=head_dropout,
                           return_feature_map=return_feature_map, input_norm=input_norm,
                           dtype=dtype)
