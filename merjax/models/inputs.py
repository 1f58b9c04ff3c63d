"""The shapes of a model's inputs, derived from the config (never written by hand).

Each input role's per-sample shape follows from its modality (`data.inputs`) and the
preprocessing (`data.preprocess`): the frame size (`size`), the modality image size
(`output_size`, default `size`), grey or RGB frames (`grayscale`; frame files are read as
RGB) and, for `frames`, the clip length T (`num_frames`, else `frames_T`). A modality's
channel count is what its own function in merjax/modalities/registry.py returns, found by
tracing it abstractly (`jax.eval_shape`: no pixels, no FLOPs).
"""

from __future__ import annotations

import functools
import json
from typing import Any
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from merjax.errors import MerjaxError

# Frames of a clip as the stage reads them: RGB unless data.preprocess.grayscale.
RGB, GREY = 3, 1
# Segment length used to trace a segment modality (its output has no time axis).
_TRACE_T = 8


def _preprocess(data_cfg: Mapping[str, Any]) -> dict:
  from merjax.modalities import stage  # pylint: disable=import-outside-toplevel
  return stage.resolve_preprocess(data_cfg.get("preprocess"))


@functools.cache
def _traced_hwc(modality: str, size: int, channels: int, cfg_json: str) -> tuple[int, ...]:
  """H x W x C of a segment or flow modality on size x size frames of `channels` channels."""
  from merjax.modalities import registry  # pylint: disable=import-outside-toplevel
  mod = registry.get(modality)
  cfg = json.loads(cfg_json)
  i32 = jax.ShapeDtypeStruct((), jnp.int32)
  if mod.kind == "segment":
    seg = jax.ShapeDtypeStruct((_TRACE_T, size, size, channels), jnp.float32)
    out = jax.eval_shape(lambda f, n, a: mod.fn(f, n, a, cfg), seg, i32, i32)
  else:   # flow: (u, v) between two grey frames of the segment
    flow = jax.ShapeDtypeStruct((size, size, 2), jnp.float32)
    out = jax.eval_shape(lambda fl: mod.fn(fl, cfg), flow)
  return tuple(int(d) for d in out.shape)


def modality_shape(modality: str, preprocess: Mapping[str, Any],
                   role: str = "image") -> tuple[int, ...]:
  """Per-sample shape of `modality` under a resolved `preprocess`: (H, W, C), or
  (T, H, W, C) for `frames`. MerjaxError when the size is left to the data."""
  from merjax.modalities import registry  # pylint: disable=import-outside-toplevel
  mod = registry.get(modality)
  size = preprocess["size"]
  if not size:
    raise MerjaxError(f"data.inputs.{role}: the shape of '{modality}' follows the clips' frame "
                      f"size while data.preprocess.size is {size!r}; set data.preprocess.size")
  out = int(preprocess["output_size"] or size)
  channels = GREY if preprocess["grayscale"] else RGB
  if mod.kind == "frames":
    t = int(preprocess["num_frames"] or preprocess["frames_T"])
    return (t, out, out, channels)
  if mod.kind == "image":          # the first frame file as read (RGB), resized
    return (out, out, RGB)
  cfg = json.dumps(dict(preprocess), sort_keys=True, default=str)
  h, w, c = _traced_hwc(modality, int(size), channels, cfg)
  if (h, w) == (size, size):       # output_size resizes the modality image
    h = w = out
  return (h, w, c)


def input_shapes(config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
  """{role: per-sample shape} of the model inputs of `config` (data.inputs and
  data.preprocess), e.g. {"image": (28, 28, 3)} for STSTNet."""
  data = config["data"]
  preprocess = _preprocess(data)
  return {role: modality_shape(name, preprocess, role) for role, name in data["inputs"].items()}


def offset_roles(config: Mapping[str, Any]) -> tuple[str, ...]:
  """The input roles staged with every FDP start offset (N x T x M x H x W x C windows,
  merjax/modalities/preprocess.offset_windows): the `frames` roles when
  data.preprocess.temporal_mode is "fdp_offsets". The model sees them as (T, H, W, C)."""
  from merjax.modalities import registry  # pylint: disable=import-outside-toplevel
  data = config["data"]
  if _preprocess(data)["temporal_mode"] != "fdp_offsets":
    return ()
  return tuple(role for role, name in data["inputs"].items()
               if registry.get(name).kind == "frames")


def batch_shapes(config: Mapping[str, Any], batch: int = 1) -> dict[str, tuple[int, ...]]:
  """{role: (batch,) + shape}: the input shapes with a leading batch axis."""
  return {role: (batch,) + s for role, s in input_shapes(config).items()}
