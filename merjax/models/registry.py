"""Models by `--model` name: each entry is a `build(model_cfg, num_classes)`."""

from __future__ import annotations

import importlib
from typing import Mapping

from flax import linen as nn

from merjax.errors import MerjaxError

# name -> "module:function"; imported lazily so one model's dependencies never
# slow down another's start.
MODELS = {
    "ststnet": "merjax.models.ststnet:build",
    "meganet": "merjax.models.meganet:build",
    "dfrnet": "merjax.models.dfrnet:build",
    "off_apexnet": "merjax.models.off_apexnet:build",
    "micro_attention": "merjax.models.micro_attention:build",
    "vgg19": "merjax.models.backbones.vgg:build",
    "resnet18": "merjax.models.backbones.resnet:build_resnet18",
    "resnet50": "merjax.models.backbones.resnet:build_resnet50",
    "efficientnet_b0": "merjax.models.backbones.efficientnet:build_efficientnet_b0",
    "efficientnetv2_s": "merjax.models.backbones.efficientnet:build_efficientnetv2_s",
    "convnext_tiny": "merjax.models.backbones.convnext:build",
    "mobilevit_s": "merjax.models.backbones.mobilevit:build",
    "dianet": "merjax.models.dianet:build",
    "fdp": "merjax.models.fdp:build",
    "fdp_release": "merjax.models.fdp_release:build",
}

# Keys of a model config that describe the model's inputs, not the module.
NON_MODULE_KEYS = ("name", "input_shapes")


def build_model(model_cfg: Mapping, num_classes: int) -> nn.Module:
  """Builds the Flax module named model_cfg["name"] with the other fields."""
  name = model_cfg["name"]
  if name not in MODELS:
    raise MerjaxError(f"unknown model '{name}'; known: {', '.join(sorted(MODELS))}")
  module, function = MODELS[name].split(":")
  fields = {k: v for k, v in model_cfg.items() if k not in NON_MODULE_KEYS}
  return getattr(importlib.import_module(module), function)(fields, num_classes)
