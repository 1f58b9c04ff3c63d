"""Per-architecture converters: torch names of every merjax variable (merjax/models/weights/
mapping.py does the layouts).

Formats (`model.pretrained_format`, docs/weights.md):
- `torchvision`: torchvision's `vgg19`, `resnet18` / `resnet50`, `efficientnet_b0`,
  `efficientnet_v2_s`, `convnext_tiny` state_dicts;
- `timm`: timm's `mobilevit_s` (and `resnet18` / `resnet50`, whose names are torchvision's);
- `reference`: a model's own reference PyTorch code: STSTNet's official `main.py`
  (conv1-3, bn1-3, fc), OFF-ApexNet's Off-TANet re-implementation (cnn1, cnn2, dense),
  the FDP release's `fdp.py` (frame_rep, mer, dyimg_net);
- `merjax`: merjax's own names ("params/backbone/conv1/kernel", flax layouts; `.npz` or
  `.safetensors` written by `merjax.models.weights.save_variables`), read by name.

`model_converter(model, fmt)` gives the converter of a built module: a backbone classifier
(trunk + head), DIANet (its one or two trunks), DFR-Net's ResNet, STSTNet, OFF-ApexNet,
FDPRelease.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models.backbones import common, convnext, efficientnet, mobilevit, resnet, vgg
from merjax.models.weights.mapping import (Converter, Leaf, Part, Path, by_module, flatten,
                                           torch_leaf_name)

FORMATS = ("torchvision", "timm", "reference", "merjax")


# ----------------------------------------------------------------------------- trunks

_RESNET_BLOCK = {"downsample_conv": "downsample.0", "downsample_bn": "downsample.1"}


def _resnet_key(mod, _modules):
  """torchvision / timm ResNet: conv1, bn1, layer{i}.{j}.(conv|bn){k}, .downsample.{0,1}."""
  if mod in (("conv1",), ("bn1",)):
    return mod[0]
  m = re.fullmatch(r"layer(\d)_(\d+)", mod[0]) if mod else None
  if m and len(mod) == 2:
    return f"layer{m[1]}.{m[2]}.{_RESNET_BLOCK.get(mod[1], mod[1])}"
  return None


def _vgg_features(config) -> dict[int, int]:
  """conv number -> torchvision `features` index (conv + ReLU = 2 modules, pool = 1)."""
  out, idx, conv = {}, 0, 0
  for v in config:
    if v == "M":
      idx += 1
    else:
      out[conv] = idx
      conv, idx = conv + 1, idx + 2
  return out


def _vgg_key(config):
  features = _vgg_features(config)

  def key(mod, _modules):
    m = re.fullmatch(r"conv(\d+)", mod[0]) if len(mod) == 1 else None
    if m:
      return f"features.{features[int(m[1])]}"
    return {("fc6",): "classifier.0", ("fc7",): "classifier.3"}.get(tuple(mod))
  return key


def _se_leaf(key: str, path: Path) -> Leaf:
  """A squeeze-excitation Dense stored by torchvision as a 1x1 conv (O x I x 1 x 1)."""
  name = "weight" if path[-1] == "kernel" else path[-1]
  if path[-1] == "kernel":
    return Leaf((f"{key}.{name}",), save=lambda a: [a.T[:, :, None, None]])
  return Leaf((f"{key}.{name}",))


def _efficientnet_key(mod, modules):
  """torchvision EfficientNet: features.0 (stem), features.{i+1}.{j}.block.{..}, features.{S+1}."""
  stages = {int(m[1]) for p in modules if p and (m := re.fullmatch(r"stage(\d+)_\d+", p[0]))}
  last = max(stages) + 2 if stages else 1
  fixed = {("stem_conv",): "features.0.0", ("stem_bn",): "features.0.1",
           ("head_conv",): f"features.{last}.0", ("head_bn",): f"features.{last}.1"}
  if tuple(mod) in fixed:
    return fixed[tuple(mod)]
  m = re.fullmatch(r"stage(\d+)_(\d+)", mod[0]) if len(mod) == 2 else None
  if not m:
    return None
  block = f"features.{int(m[1]) + 1}.{m[2]}.block"
  inner = {p[1] for p in modules if len(p) == 2 and p[0] == mod[0]}
  if "dw_conv" in inner:                   # MBConv: [expand,] depthwise, SE, project
    order = (["expand"] if "expand_conv" in inner else []) + ["dw", "se", "project"]
    part, kind = mod[1].rsplit("_", 1) if "_" in mod[1] else (mod[1], "")
    if mod[1] in ("se_reduce", "se_expand"):
      return f"{block}.{order.index('se')}.{'fc1' if mod[1] == 'se_reduce' else 'fc2'}"
    if part in order and kind in ("conv", "bn"):
      return f"{block}.{order.index(part)}.{0 if kind == 'conv' else 1}"
    return None
  fused = {"expand_conv": "0.0", "expand_bn": "0.1", "project_conv": "1.0", "project_bn": "1.1",
           "conv": "0.0", "bn": "0.1"}
  return f"{block}.{fused[mod[1]]}" if mod[1] in fused else None


def _efficientnet_special(path: Path, modules) -> Leaf | None:
  if len(path) == 4 and path[2] in ("se_reduce", "se_expand"):
    key = _efficientnet_key(path[1:-1], modules)
    return _se_leaf(key, path) if key else None
  return None


def _convnext_key(mod, _modules):
  """torchvision ConvNeXt: features.0 (stem conv, LayerNorm2d), features.{2i} (downsample
  LayerNorm2d, conv), features.{2i+1}.{j} (block: .block.0 dw, .2 LN, .3 / .5 Linear,
  .layer_scale), classifier.0 (LayerNorm2d)."""
  fixed = {("stem_conv",): "features.0.0", ("stem_norm",): "features.0.1",
           ("head_norm",): "classifier.0"}
  if tuple(mod) in fixed:
    return fixed[tuple(mod)]
  m = re.fullmatch(r"downsample(\d+)_(norm|conv)", mod[0]) if len(mod) == 1 else None
  if m:
    return f"features.{2 * int(m[1])}.{0 if m[2] == 'norm' else 1}"
  m = re.fullmatch(r"stage(\d+)_(\d+)", mod[0]) if mod else None
  if m:
    block = f"features.{2 * int(m[1]) + 1}.{m[2]}"
    if len(mod) == 1:
      return block
    sub = {"dw_conv": "block.0", "norm": "block.2", "fc1": "block.3", "fc2": "block.5"}
    return f"{block}.{sub[mod[1]]}" if len(mod) == 2 and mod[1] in sub else None
  return None


def _convnext_special(path: Path, modules) -> Leaf | None:
  if path[-1] == "layer_scale" and len(path) == 3:
    key = _convnext_key(path[1:-1], modules)
    return Leaf((f"{key}.layer_scale",), save=lambda a: [a.reshape(-1, 1, 1)])
  return None


_MOBILEVIT_RES = {"conv1": "conv1_1x1.conv", "bn1": "conv1_1x1.bn", "conv2": "conv2_kxk.conv",
                  "bn2": "conv2_kxk.bn", "conv3": "conv3_1x1.conv", "bn3": "conv3_1x1.bn"}
_MOBILEVIT_BLOCK = {"conv_kxk": "conv_kxk.conv", "conv_kxk_bn": "conv_kxk.bn",
                    "conv_1x1": "conv_1x1", "norm": "norm", "conv_proj": "conv_proj.conv",
                    "conv_proj_bn": "conv_proj.bn", "conv_fusion": "conv_fusion.conv",
                    "conv_fusion_bn": "conv_fusion.bn"}
_MOBILEVIT_LAYER = {"norm1": "norm1", "qkv": "attn.qkv", "proj": "attn.proj", "norm2": "norm2",
                    "fc1": "mlp.fc1", "fc2": "mlp.fc2"}


def _mobilevit_key(mod, modules):
  """timm MobileViT: stem.(conv|bn), stages.{i}.{j} (bottleneck blocks, then the MobileViT
  block at index = the stage's block count), final_conv.(conv|bn)."""
  fixed = {("stem_conv",): "stem.conv", ("stem_bn",): "stem.bn",
           ("final_conv",): "final_conv.conv", ("final_bn",): "final_conv.bn"}
  if tuple(mod) in fixed:
    return fixed[tuple(mod)]
  m = re.fullmatch(r"stage(\d+)_(\d+)", mod[0]) if len(mod) == 2 else None
  if m and mod[1] in _MOBILEVIT_RES:
    return f"stages.{m[1]}.{m[2]}.{_MOBILEVIT_RES[mod[1]]}"
  m = re.fullmatch(r"stage(\d+)_mobilevit", mod[0]) if mod else None
  if m:
    n = len({p[0] for p in modules if p and re.fullmatch(rf"stage{m[1]}_\d+", p[0])})
    base = f"stages.{m[1]}.{n}"
    if len(mod) == 2 and mod[1] in _MOBILEVIT_BLOCK:
      return f"{base}.{_MOBILEVIT_BLOCK[mod[1]]}"
    t = re.fullmatch(r"transformer(\d+)", mod[1]) if len(mod) == 3 else None
    if t and mod[2] in _MOBILEVIT_LAYER:
      return f"{base}.transformer.{t[1]}.{_MOBILEVIT_LAYER[mod[2]]}"
  return None


def _trunk_names(trunk: nn.Module, fmt: str) -> tuple[Callable, str]:
  """(Part.names of the trunk, torch name of its classifier head) in format `fmt`."""
  table = {
      resnet.ResNet: {"torchvision": (by_module(_resnet_key), "fc"),
                      "timm": (by_module(_resnet_key), "fc")},
      vgg.VGG: {"torchvision": (by_module(_vgg_key(getattr(trunk, "config", vgg.VGG19_CONFIG))),
                                "classifier.6")},
      efficientnet.EfficientNet: {"torchvision": (by_module(_efficientnet_key,
                                                            _efficientnet_special),
                                                  "classifier.1")},
      convnext.ConvNeXt: {"torchvision": (by_module(_convnext_key, _convnext_special),
                                          "classifier.2")},
      mobilevit.MobileViT: {"timm": (by_module(_mobilevit_key), "head.fc")},
  }
  formats = table.get(type(trunk))
  if formats is None:
    raise MerjaxError(f"model.pretrained_format: no converter for trunk {type(trunk).__name__}")
  if fmt not in formats:
    raise MerjaxError(f"model.pretrained_format: {fmt!r} has no converter for "
                      f"{type(trunk).__name__}; use {' or '.join(formats)} (or merjax)")
  return formats[fmt]


def _head_names(subpaths: list[Path]) -> dict[Path, Leaf]:
  """The classifier head (one Dense): its leaves under the head's torch name."""
  return {p: Leaf((torch_leaf_name(p[0], p[-1]),)) for p in subpaths if len(p) == 2}


# ----------------------------------------------------------------------------- models

def _chw_to_hwc(c: int, h: int, w: int):
  """(load, save) of a Linear whose input torch flattens as C, H, W and merjax as H, W, C:
  torch weight K x (C H W) <-> flax kernel (H W C) x K."""
  def load(w_KxF: np.ndarray) -> np.ndarray:
    k = w_KxF.shape[0]
    return w_KxF.reshape(k, c, h, w).transpose(2, 3, 1, 0).reshape(h * w * c, k)

  def save(kernel_FxK: np.ndarray) -> np.ndarray:
    k = kernel_FxK.shape[1]
    return kernel_FxK.reshape(h, w, c, k).transpose(3, 2, 0, 1).reshape(k, c * h * w)
  return load, save


def _ststnet_names(widths, dense_in: int):
  """STSTNet official: conv1-3 / bn1-3 (one per stream) -> streams_conv / streams_bn
  (filters concatenated), fc -> Dense_0 (400 inputs flattened C, H, W by torch)."""
  c = sum(widths)
  side = int(round((dense_in // c) ** 0.5))
  load_fc, save_fc = _chw_to_hwc(c, side, side)
  bounds = np.cumsum((0,) + tuple(widths))

  def split(a, axis):
    return [np.take(a, np.arange(bounds[i], bounds[i + 1]), axis=axis) for i in range(len(widths))]

  def names(subpaths):
    out = {}
    for p in subpaths:
      coll, mod, leaf = p[0], p[1:-1], p[-1]
      if mod == ("streams_conv",):
        keys = tuple(f"conv{i + 1}.{'weight' if leaf == 'kernel' else leaf}"
                     for i in range(len(widths)))
        if leaf == "kernel":
          out[p] = Leaf(keys, load=lambda arrs, _s: np.concatenate(
              [a.transpose(2, 3, 1, 0) for a in arrs], axis=-1),
              save=lambda a: [x.transpose(3, 2, 0, 1) for x in split(a, 3)])
        else:
          out[p] = Leaf(keys, load=lambda arrs, _s: np.concatenate(arrs),
                        save=lambda a: split(a, 0))
      elif mod == ("streams_bn",):
        name = torch_leaf_name(coll, leaf)
        out[p] = Leaf(tuple(f"bn{i + 1}.{name}" for i in range(len(widths))),
                      load=lambda arrs, _s: np.concatenate(arrs), save=lambda a: split(a, 0))
      elif mod == ("Dense_0",):
        if leaf == "kernel":
          out[p] = Leaf(("fc.weight",), load=lambda arrs, _s: load_fc(arrs[0]),
                        save=lambda a: [save_fc(a)])
        else:
          out[p] = Leaf(("fc.bias",))
    return out
  return names


def _off_apexnet_names(conv_widths):
  """Off-TANet OFF-ApexNet: cnn1 / cnn2 (u / v stream: conv1, conv2), dense.0 / .3 / .6;
  dense.0 reads the two 16 x 7 x 7 maps flattened C, H, W by torch."""
  c = conv_widths[-1]

  def names(subpaths):
    out = {}
    fc1 = [p for p in subpaths if p[1] == "fc1" and p[-1] == "kernel"]
    for p in subpaths:
      mod, leaf = p[1:-1], p[-1]
      name = "weight" if leaf == "kernel" else leaf
      m = re.fullmatch(r"([uv])_conv(\d)", mod[0]) if len(mod) == 1 else None
      if m:
        out[p] = Leaf((f"cnn{1 if m[1] == 'u' else 2}.conv{m[2]}.{name}",))
      elif mod == ("fc2",):
        out[p] = Leaf((f"dense.3.{name}",))
      elif mod == ("classifier",):
        out[p] = Leaf((f"dense.6.{name}",))
      elif mod == ("fc1",) and leaf == "bias":
        out[p] = Leaf(("dense.0.bias",))
    if fc1:
      out[fc1[0]] = Leaf(("dense.0.weight",), load=_off_fc1_load(c), save=_off_fc1_save(c))
    return out
  return names


def _off_fc1_load(c):
  """fc1's kernel from dense.0.weight: each stream's half of the inputs re-flattened."""
  def load(arrs, _shape):
    w = arrs[0]
    half = w.shape[1] // 2
    side = int(round((half // c) ** 0.5))
    f, _ = _chw_to_hwc(c, side, side)
    return np.concatenate([f(w[:, :half]), f(w[:, half:])], axis=0)
  return load


def _off_fc1_save(c):
  """The inverse of `_off_fc1_load`."""
  def save(kernel):
    half = kernel.shape[0] // 2
    side = int(round((half // c) ** 0.5))
    _, s = _chw_to_hwc(c, side, side)
    return [np.concatenate([s(kernel[:half]), s(kernel[half:])], axis=1)]
  return save


def _dfrnet_key(num_stages: int):
  """DFR-Net's ResNet (stem + num_stages stages of CSA BasicBlocks) from a torchvision
  resnet18: stem_conv / stem_bn = conv1 / bn1, layer{i}_{j} = layer{i}.{j}; the channel /
  spatial attention (ca, sa) have no torchvision counterpart."""
  def key(mod, modules):
    if mod == ("stem_conv",):
      return "conv1"
    if mod == ("stem_bn",):
      return "bn1"
    if mod and mod[0].startswith("layer") and len(mod) >= 2 and mod[1] in ("ca", "sa"):
      return None
    m = re.fullmatch(r"layer(\d)_(\d+)", mod[0]) if mod else None
    if m and int(m[1]) <= num_stages:
      return _resnet_key(mod, modules)
    return None
  return key


def _dfrnet_names(num_stages: int):
  base = by_module(_dfrnet_key(num_stages))

  def names(subpaths):
    out = base([p for p in subpaths if p[1] in ("stem_conv", "stem_bn")
                or re.fullmatch(r"layer\d_\d+", p[1])])
    # The stem conv reads the fused map (fused_width channels), not RGB: loaded only when
    # its shape fits.
    return {p: (l if l is None or p[1] != "stem_conv" else Leaf(l.keys, optional=True))
            for p, l in out.items()}
  return names


_FDP_LFA = {"pe_conv": "patch_embed.conv", "pe_bn": "patch_embed.norm",
            "mhca": "mhca.group_conv3x3", "norm": "norm", "mlp1": "mlp.conv1",
            "mlp2": "mlp.conv2"}


def _fdp_encoder_key(mod, modules):
  """The FDP release's `frame_rep`: stem.{i}.(conv|norm), features.{n} (LFA blocks in
  order, n counted over the stages), norm, proj_head.0."""
  m = re.fullmatch(r"(Conv|BatchNorm)_(\d+)", mod[1]) if len(mod) == 2 and mod[0] == "stem" else None
  if m:
    return f"stem.{m[2]}.{'conv' if m[1] == 'Conv' else 'norm'}"
  fixed = {("norm",): "norm", ("proj_head",): "proj_head.0"}
  if tuple(mod) in fixed:
    return fixed[tuple(mod)]
  m = re.fullmatch(r"stage(\d+)_block(\d+)", mod[0]) if len(mod) == 2 else None
  if not m or mod[1] not in _FDP_LFA:
    return None
  blocks = sorted({(int(b[1]), int(b[2])) for p in modules if p
                   and (b := re.fullmatch(r"stage(\d+)_block(\d+)", p[0]))})
  return f"features.{blocks.index((int(m[1]), int(m[2])))}.{_FDP_LFA[mod[1]]}"


def _fdp_release_converter(label) -> Converter:
  """The FDP release (`CYF-cuber/FDP` fdp.py): frame_rep, mer.conv3d (Conv3d, OIDHW),
  mer.fc1 (merjax flattens in torch's C, D, H, W order: a plain transpose), dyimg_net
  (SegNet names unchanged); mer.fc2 is the head."""
  same = by_module(lambda mod, _m: ".".join(mod))
  return Converter(label, (
      Part(("frame_rep",), by_module(_fdp_encoder_key), "frame_rep", "backbone"),
      Part(("conv3d",), same, "mer.conv3d", "backbone"),
      Part(("fc1",), same, "mer.fc1", "backbone"),
      Part(("dyimg_net",), same, "dyimg_net", "backbone"),
      Part(("fc2",), same, "mer.fc2", "head")))


def _backbone_part(trunk, prefix, fmt):
  names, _head = _trunk_names(trunk, fmt)
  return Part(prefix, names, "", "backbone")


def _dianet_trunks(model) -> list[tuple[Path, nn.Module]]:
  from merjax.models import backbones  # pylint: disable=import-outside-toplevel
  options = dict(model.backbone_options or {}).get(model.backbone)
  trunk = backbones.make_trunk(model.backbone, options)
  if model.streams == 1 or model.shared_backbone:
    return [(("backbone",), trunk)]
  return [(("backbone_onset",), trunk), (("backbone_offset",), trunk)]


def model_converter(model: nn.Module, fmt: str) -> Converter:
  """The converter of built module `model` from weights in format `fmt`."""
  from merjax.models import dfrnet, dianet, fdp_release, off_apexnet, ststnet  # pylint: disable=import-outside-toplevel
  if fmt not in FORMATS:
    raise MerjaxError(f"model.pretrained_format: {fmt!r} is not one of {', '.join(FORMATS)}")
  label = f"{type(model).__name__} ({fmt})"
  if fmt == "merjax":
    return merjax_converter(model)
  if isinstance(model, common.Classifier):
    names, head = _trunk_names(model.backbone, fmt)
    return Converter(label, (Part(("backbone",), names, "", "backbone"),
                             Part(("head",), _head_names, head, "head")))
  if isinstance(model, dianet.DIANet):
    parts = tuple(_backbone_part(t, prefix, fmt) for prefix, t in _dianet_trunks(model))
    _names, head = _trunk_names(_dianet_trunks(model)[0][1], fmt)
    return Converter(label, parts, lambda k: k.startswith(head + "."))
  if isinstance(model, dfrnet.DFRNet):
    if model.module != "resnet" or fmt not in ("torchvision", "timm"):
      raise MerjaxError(f"model.pretrained_format: DFR-Net loads a torchvision resnet18 into "
                        f"its ResNet (model.module=resnet, format torchvision), not "
                        f"module={model.module!r} / {fmt!r}")
    n = model.num_stages
    ignore = lambda k: k.startswith("fc.") or any(k.startswith(f"layer{i}.")
                                                    for i in range(n + 1, 5))
    return Converter(label, (Part((), _dfrnet_names(n), "", "backbone"),), ignore)
  if isinstance(model, ststnet.STSTNet) and fmt == "reference":
    c = sum(model.stream_widths)
    return Converter(label, (Part((), _ststnet_names(tuple(model.stream_widths), 25 * c),
                                  "", "model"),))
  if isinstance(model, off_apexnet.OffApexNet) and fmt == "reference":
    return Converter(label, (Part((), _off_apexnet_names(tuple(model.conv_widths)), "",
                                  "model"),))
  if isinstance(model, fdp_release.FDPRelease) and fmt == "reference":
    return _fdp_release_converter(label)
  raise MerjaxError(f"model.pretrained_format: no {fmt!r} converter for "
                    f"{type(model).__name__}")


# ----------------------------------------------------------------------------- merjax names

SEP = "/"


def merjax_converter(model: nn.Module | None = None) -> Converter:
  """merjax's own names: every leaf under its flax path joined by '/' ('params/backbone/
  conv1/kernel'), in flax layout. The trunks of a backbone classifier or DIANet read the
  file's `backbone` subtree (role "backbone"); every other leaf its own path."""
  trunks: list[Path] = []
  if model is not None:
    from merjax.models import dianet  # pylint: disable=import-outside-toplevel
    if isinstance(model, common.Classifier):
      trunks = [("backbone",)]
    elif isinstance(model, dianet.DIANet):
      trunks = [p for p, _ in _dianet_trunks(model)]
  keep = lambda a: [a]

  def trunk_names(subpaths):
    return {p: Leaf((SEP.join((p[0], "backbone") + p[1:]),), load=_identity, save=keep)
            for p in subpaths}

  def own_names(subpaths):
    return {p: Leaf((SEP.join(p),), load=_identity, save=keep) for p in subpaths}
  parts = tuple(Part(t, trunk_names, "", "backbone") for t in trunks)
  parts += (Part((), own_names, "", "head" if trunks else "model"),)
  # Loading trunks only, the file's other leaves (its own head) are unused, not an error.
  ignore = (lambda k: k.split(SEP)[1:2] != ["backbone"]) if trunks else (lambda _k: False)
  return Converter("merjax names", parts, ignore)


def _identity(arrs, shape):
  a = arrs[0]
  return a if tuple(a.shape) == tuple(shape) else None


def merjax_names(variables) -> dict[str, np.ndarray]:
  """{'params/backbone/conv1/kernel': array, ...} of flax variables (merjax format)."""
  return {SEP.join(p): np.asarray(v) for p, v in flatten(variables).items()}
