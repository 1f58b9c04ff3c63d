"""On-device augmentation, independent per sample: horizontal flip, rotation,
random translation (the random-crop equivalent at fixed size), and the mixing
augmentations MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019).

Flow inputs (a modality whose registry entry names its (u, v) channels) are
augmented as vector fields: a flip also mirrors the u channel, a rotation also
rotates the (u, v) vectors by the same angle (`FlowChannels`). docs/augment.md.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from typing import Any
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from merjax.errors import MerjaxError

PREFIX = "train.augment"
# key -> its default (off).
DEFAULTS = {"flip": False, "rotate_deg": 0.0, "translate_px": 0.0,
            "mixup_alpha": 0.0, "cutmix_alpha": 0.0, "flow_rotation": "vectors"}
# train.augment.flow_rotation: "vectors" (a rotation of a flow input rotates its (u, v)
# vectors too: exact, needs flow in pixels) or "image" (the flow image is rotated as a
# picture, its vectors keep their directions: what a plain image pipeline does; inexact).
FLOW_ROTATION = ("vectors", "image")
# key -> what it must be.
KEYS = {
    "flip": "true/false: horizontal flip with probability 1/2",
    "rotate_deg": "a max |angle| in degrees (uniform), or a list of angles (0 added)",
    "translate_px": "a max shift in pixels per axis (uniform; the random-crop equivalent)",
    "mixup_alpha": "MixUp: lambda ~ Beta(alpha, alpha) per sample; 0 = off",
    "cutmix_alpha": "CutMix: lambda ~ Beta(alpha, alpha) per sample sets the box; 0 = off "
                    "(both on: each sample takes one of the two with probability 1/2)",
    "flow_rotation": "vectors (rotate flow vectors with the image) or image (rotate the "
                     "flow image only, as a plain image pipeline does)",
}
GEOMETRIC = ("flip", "rotate_deg", "translate_px")
MIXING = ("mixup_alpha", "cutmix_alpha")


def _is_number(v) -> bool:
  return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_config(config: Mapping[str, Any]) -> None:
  """Checks a `train.augment` group before any data is read: known keys, values of the
  right kind. One-line MerjaxError naming the key and the closest known ones
  (`train.augment.flipp: unknown key; did you mean train.augment.flip?`)."""
  from merjax.configs import schema  # pylint: disable=import-outside-toplevel
  schema.check_keys(config, KEYS, PREFIX)
  for key, value in config.items():
    if key == "flip" and not isinstance(value, bool):
      raise MerjaxError(f"{PREFIX}.flip: {value!r} is not true/false")
    if key == "flow_rotation":
      if value not in FLOW_ROTATION:
        raise MerjaxError(f"{PREFIX}.flow_rotation: {value!r} is not one of "
                          f"{', '.join(map(repr, FLOW_ROTATION))}")
      continue
    if key == "rotate_deg" and isinstance(value, (list, tuple)):
      if not all(_is_number(a) for a in value):
        raise MerjaxError(f"{PREFIX}.rotate_deg: {value!r} is not a list of angles")
    elif key != "flip" and not (
        isinstance(value, jax.Array) or (_is_number(value) and value >= 0)):
      raise MerjaxError(f"{PREFIX}.{key}: {value!r} is not a number >= 0")


def _enabled(value) -> bool:
  """A traced strength (a per-member sweep value) is always on; a constant when non-zero."""
  return isinstance(value, jax.Array) or bool(value)


# --------------------------------------------------------------------------- flow inputs

@dataclasses.dataclass(frozen=True)
class FlowChannels:
  """Where a role's optical-flow vectors are and how their values map to pixels.

  u, v: the channels of the x and y displacement (the modality registry's `vectors`,
    reversed under data.channel_order=bgr).
  mirror: the value a sign change of a displacement reflects about: 0 for flow in
    pixels (flow_normalize none); input_scale / 2 under per-channel min-max scaling,
    where the flow of mirrored frames is exactly 1 - u (times input_scale); None under
    one min-max over all channels, where no flip of the stored image is exact.
  scale: stored value per pixel of displacement (input_scale) when the flow is in
    pixels; None when min-max scaled (the vectors cannot be rotated: u and v carry
    different, unknown scales).
  """
  u: int
  v: int
  mirror: float | None
  scale: float | None


def flow_channels(config: Mapping, roles) -> tuple[tuple[str, FlowChannels], ...]:
  """((role, FlowChannels), ...) of the `roles` whose modality (data.inputs) is a flow
  field, from the registry's `vectors`, data.preprocess.flow_normalize,
  data.input_scale and data.channel_order."""
  from merjax.modalities import registry, stage  # pylint: disable=import-outside-toplevel
  data = config["data"]
  mode = stage.resolve_preprocess(data.get("preprocess"))["flow_normalize"]
  scale = float(data.get("input_scale", 1.0))
  out = []
  for role in roles:
    vectors = registry.get(data["inputs"][role]).vectors
    if vectors is None:
      continue
    u, v = vectors
    if data.get("channel_order", "rgb") == "bgr":
      from merjax.models import inputs  # pylint: disable=import-outside-toplevel
      c = inputs.modality_shape(data["inputs"][role], stage.resolve_preprocess(
          data.get("preprocess")), role)[-1]
      u, v = c - 1 - u, c - 1 - v
    mirror = {"none": 0.0, "minmax_channel": scale / 2}.get(mode)
    out.append((role, FlowChannels(u, v, mirror, scale if mode == "none" else None)))
  return tuple(out)


def check_flow(config: Mapping, flows) -> None:
  """One-line MerjaxError when a geometric augmentation of `config` cannot move the
  vectors of a flow role (FlowChannels) exactly."""
  config = {**DEFAULTS, **config}
  for role, fc in flows:
    if config["flip"] and fc.mirror is None:
      raise MerjaxError(
          f"{PREFIX}.flip: input '{role}' is flow min-max scaled over all its channels "
          "(data.preprocess.flow_normalize=minmax), so no flip of it mirrors the vectors; "
          "use flow_normalize minmax_channel or none, or leave the role out of "
          "train.augment_inputs")
    if (_enabled(config["rotate_deg"]) and fc.scale is None
        and config["flow_rotation"] == "vectors"):
      raise MerjaxError(
          f"{PREFIX}.rotate_deg: input '{role}' is min-max scaled flow, so its (u, v) "
          "vectors cannot be rotated; use data.preprocess.flow_normalize=none, or "
          f"{PREFIX}.flow_rotation=image, or leave the role out of train.augment_inputs")


def flip_flow(x_HxWxC, fc: FlowChannels):
  """The flow image of the horizontally mirrored frames: columns reversed, u mirrored
  (u -> 2 mirror - u), v and the scalar channels kept. Any leading axes allowed."""
  x = jnp.asarray(x_HxWxC)[..., ::-1, :]
  return x.at[..., fc.u].set(2 * fc.mirror - x[..., fc.u])


def rotate_vectors(x_HxWxC, angle, fc: FlowChannels):
  """(u, v) rotated as `_affine_sample` rotates the image content by `angle` radians:
  u' = cos u - sin v, v' = sin u + cos v (image y axis down)."""
  x_HxWxC = jnp.asarray(x_HxWxC)
  cos, sin = jnp.cos(angle), jnp.sin(angle)
  u, v = x_HxWxC[..., fc.u], x_HxWxC[..., fc.v]
  x = x_HxWxC.at[..., fc.u].set((cos * u - sin * v).astype(x_HxWxC.dtype))
  return x.at[..., fc.v].set((sin * u + cos * v).astype(x_HxWxC.dtype))


# --------------------------------------------------------------------------- geometric

def _affine_sample(x_HxWxC, angle, shift_yx):
  """Rotates by `angle` radians about the centre, then shifts; bilinear, edge
  values repeated. angle -pi/2 is np.rot90 (counter-clockwise on screen)."""
  h, w = x_HxWxC.shape[:2]
  yy, xx = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32),
                        jnp.arange(w, dtype=jnp.float32), indexing="ij")
  cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
  cos, sin = jnp.cos(angle), jnp.sin(angle)
  ys, xs = yy - cy - shift_yx[0], xx - cx - shift_yx[1]
  src_y = cos * ys - sin * xs + cy
  src_x = sin * ys + cos * xs + cx
  sample = lambda ch: jax.scipy.ndimage.map_coordinates(
      ch, [src_y, src_x], order=1, mode="nearest")
  return jax.vmap(sample, in_axes=-1, out_axes=-1)(x_HxWxC).astype(x_HxWxC.dtype)


def augment_sample(key, x, config: Mapping, flow: FlowChannels | None = None):
  """Augments one sample x (H x W x C, or T x H x W x C with one transform for
  all frames). config: {"flip": bool, "rotate_deg": max |angle| or a list of
  allowed angles, "translate_px": max shift}; the two strengths may be traced
  scalars. `flow`: x is a flow field, its vectors are mirrored and rotated too."""
  config = {**DEFAULTS, **config}
  k_flip, k_rot, k_shift = jax.random.split(key, 3)
  frames = x if x.ndim == 4 else x[None]
  if config["flip"]:
    flip = jax.random.bernoulli(k_flip)
    flipped = frames[:, :, ::-1] if flow is None else flip_flow(frames, flow)
    frames = jnp.where(flip, flipped, frames)
  rotate, translate = config["rotate_deg"], config["translate_px"]
  if _enabled(rotate) or _enabled(translate):
    if isinstance(rotate, (list, tuple)):
      choices = jnp.asarray([0.0] + [float(a) for a in rotate])
      angle = jax.random.choice(k_rot, choices)
    else:
      angle = jax.random.uniform(k_rot, minval=-rotate, maxval=rotate)
    translate = jnp.asarray(translate, jnp.float32)
    shift = jax.random.uniform(k_shift, (2,), minval=-translate, maxval=translate)
    frames = jax.vmap(lambda f: _affine_sample(f, jnp.deg2rad(angle), shift))(frames)
    if flow is not None and _enabled(rotate) and config["flow_rotation"] == "vectors":
      frames = rotate_vectors(frames, jnp.deg2rad(angle), flow)
  return frames if x.ndim == 4 else frames[0]


def augment_batch(key, batch: Mapping[str, jax.Array], config: Mapping, roles, flows=()):
  """Augments the arrays of `roles` in a batch, the same transform per sample
  across roles (so apex and flow stay aligned). `config` as `check_config` accepts;
  `flows`: ((role, FlowChannels), ...) of the flow roles (`flow_channels`)."""
  check_config(config)
  config = {k: v for k, v in {**DEFAULTS, **config}.items()
            if k in GEOMETRIC or k == "flow_rotation"}
  if not roles or not any(_enabled(config[k]) for k in GEOMETRIC):
    return dict(batch)
  check_flow(config, flows)
  flows = dict(flows)
  b = next(iter(batch.values())).shape[0]
  keys = jax.random.split(key, b)
  out = dict(batch)
  for role in roles:
    one = functools.partial(augment_sample, config=config, flow=flows.get(role))
    out[role] = jax.vmap(one)(keys, batch[role])
  return out


# --------------------------------------------------------------------------- mixing

def mixes(config: Mapping) -> bool:
  """Whether `config` turns MixUp or CutMix on (a traced strength always does)."""
  config = {**DEFAULTS, **config}
  return any(_enabled(config[k]) for k in MIXING)


def _beta(key, alpha, b):
  """B draws of Beta(alpha, alpha); 1 (no mixing) where alpha is 0 (a traced 0 too)."""
  alpha = jnp.asarray(alpha, jnp.float32)
  lam = jax.random.beta(key, jnp.where(alpha > 0, alpha, 1.0),
                        jnp.where(alpha > 0, alpha, 1.0), (b,))
  return jnp.where(alpha > 0, lam, 1.0)


def cutmix_box(key, lam, h, w):
  """The CutMix box (y0, y1, x0, x1) for one sample on an h x w grid: side fractions
  sqrt(1 - lam) (floored to pixels), centre uniform over the pixels, clipped to the
  image; and lam recomputed as 1 - box area / (h w)."""
  k_y, k_x = jax.random.split(key)
  r = jnp.sqrt(1.0 - lam)
  ch, cw = jnp.floor(h * r).astype(jnp.int32), jnp.floor(w * r).astype(jnp.int32)
  cy, cx = jax.random.randint(k_y, (), 0, h), jax.random.randint(k_x, (), 0, w)
  y0, y1 = jnp.clip(cy - ch // 2, 0, h), jnp.clip(cy - ch // 2 + ch, 0, h)
  x0, x1 = jnp.clip(cx - cw // 2, 0, w), jnp.clip(cx - cw // 2 + cw, 0, w)
  box = jnp.stack([y0, y1, x0, x1])
  return box, 1.0 - ((y1 - y0) * (x1 - x0)).astype(jnp.float32) / (h * w)


def mix_draws(key, b: int, hw: tuple[int, int], config: Mapping) -> dict:
  """The random numbers of one batch's mixing: {"partner_B": the permutation whose
  sample each sample mixes with, "lam_B": the weight of its own sample, "cut_B": CutMix
  (True) or MixUp, "box_Bx4": (y0, y1, x0, x1) on the hw grid (empty for MixUp)}."""
  config = {**DEFAULTS, **config}
  k_perm, k_mix, k_cut, k_which, k_box = jax.random.split(key, 5)
  partner_B = jax.random.permutation(k_perm, b)
  on_mix, on_cut = _enabled(config["mixup_alpha"]), _enabled(config["cutmix_alpha"])
  lam_mix_B = _beta(k_mix, config["mixup_alpha"], b) if on_mix else jnp.ones(b)
  if on_cut:
    box_Bx4, lam_cut_B = jax.vmap(lambda k, lam: cutmix_box(k, lam, *hw))(
        jax.random.split(k_box, b), _beta(k_cut, config["cutmix_alpha"], b))
  else:
    box_Bx4, lam_cut_B = jnp.zeros((b, 4), jnp.int32), jnp.ones(b)
  if on_mix and on_cut:   # each sample one of the two; a (traced) 0 turns its method off
    a_mix, a_cut = (jnp.asarray(config[k]) for k in MIXING)
    cut_B = jnp.where((a_mix > 0) & (a_cut > 0), jax.random.bernoulli(k_which, 0.5, (b,)),
                      jnp.broadcast_to(a_cut > 0, (b,)))
  else:
    cut_B = jnp.full((b,), on_cut)
  box_Bx4 = jnp.where(cut_B[:, None], box_Bx4, 0)
  return {"partner_B": partner_B, "lam_B": jnp.where(cut_B, lam_cut_B, lam_mix_B),
          "cut_B": cut_B, "box_Bx4": box_Bx4}


def mix_inputs(batch: Mapping[str, jax.Array], draws: Mapping, ref_hw) -> dict:
  """Every role of `batch` mixed with its partner sample: MixUp lam x + (1 - lam)
  x[partner]; CutMix x with the box pasted from x[partner] (the box drawn on the
  `ref_hw` grid, scaled to each role's own H x W, over all frames of a T x H x W x C
  role)."""
  partner_B, lam_B, cut_B, box_Bx4 = (draws[k] for k in ("partner_B", "lam_B", "cut_B",
                                                         "box_Bx4"))
  out = {}
  for role, x in batch.items():
    h, w = x.shape[-3], x.shape[-2]
    scale = jnp.asarray([h / ref_hw[0], h / ref_hw[0], w / ref_hw[1], w / ref_hw[1]])
    box = jnp.round(box_Bx4 * scale).astype(jnp.int32)
    yy, xx = jnp.arange(h)[None, :, None], jnp.arange(w)[None, None, :]
    inside_BxHxW = ((yy >= box[:, 0, None, None]) & (yy < box[:, 1, None, None])
                    & (xx >= box[:, 2, None, None]) & (xx < box[:, 3, None, None]))
    inside = inside_BxHxW[..., None]                       # B x H x W x 1
    inside = inside[:, None] if x.ndim == 5 else inside    # B x 1 x H x W x 1 (frames)
    lam = lam_B.reshape((-1,) + (1,) * (x.ndim - 1)).astype(x.dtype)
    other = x[partner_B]
    mixed = lam * x + (1 - lam) * other
    pasted = jnp.where(inside, other, x)
    out[role] = jnp.where(cut_B.reshape((-1,) + (1,) * (x.ndim - 1)), pasted, mixed)
  return out


def mix_batch(key, batch: Mapping[str, jax.Array], config: Mapping):
  """(mixed batch, partner_B, lam_B): MixUp / CutMix of `config` over every role of
  the batch, one draw per sample (`mix_draws`, the box on the grid of the first role in
  name order); the loss is lam loss(y) + (1 - lam) loss(y[partner])
  (merjax.training.losses.mixed)."""
  first = batch[sorted(batch)[0]]
  draws = mix_draws(key, first.shape[0], first.shape[-3:-1], config)
  return mix_inputs(batch, draws, first.shape[-3:-1]), draws["partner_B"], draws["lam_B"]
