"""DIANet (Khuong et al. 2025, seed 004): phase-aware dual-stream network on DI-Onset / DI-Offset.

No code was released; this follows §2.2-2.3 and Fig. 2. Inputs: `batch["di_onset"]` and
`batch["di_offset"]` (B x H x W x C, 224 x 224 x 3 in the paper), or `batch["image"]` with `streams=1`.
Each stream is a backbone trunk without its classifier (`backbone`), whose pooled vector is projected
to `feature_dim` (512): f1 (onset-apex), f2 (apex-offset). A fusion block (`fusion`) mixes them, the two
attended vectors are concatenated and projected, and an MLP (FC-ReLU-dropout-FC) gives the logits.

With one 512-d vector per stream, softmax attention over a single key is identically 1, so the literal
Fig. 2 block is a linear map of the other stream's value (`fusion="cross_literal"`). The default
(`"cross"`) lets f1 query the *spatial tokens* of the other stream's last feature map (projected to 512
by the same layer), which is the only reading where the attention weights depend on the input.
Every open choice is a field; defaults and reasons in docs/dianet.md (ours, not the paper's).
"""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.errors import MerjaxError
from merjax.models import backbones, layers

FUSIONS = ("cross", "cross_literal", "simple", "concat")
CROSS_QUERIES = ("vector", "tokens")
FUSION_ACTIVATIONS = ("none", "relu")
TWO_STREAM_ROLES = ("di_onset", "di_offset")
ONE_STREAM_ROLE = "image"


def check_backbone(backbone: str, options: Mapping[str, Any] | None) -> None:
  """MerjaxError unless `backbone` is a registered backbone whose pooled features have the
  feature map's width (one projection reads both) and `options` holds trunk fields only."""
  entry = backbones.get(backbone, "model.backbone")
  if not entry.pooled_features:
    usable = [n for n, e in backbones.BACKBONES.items() if e.pooled_features]
    raise MerjaxError(f"model.backbone: {backbone!r} has features wider than its feature map; "
                      f"DIANet needs one of {', '.join(usable)}")
  backbones.check_options(backbone, dict(options or {}),
                          f"model.backbone_options.{backbone}")


def attend(q_BxQxD, k_BxNxD, v_BxNxD, num_heads: int = 1):
  """Scaled dot-product attention, heads split from D; softmax in float32. Returns B x Q x D."""
  b, nq, d = q_BxQxD.shape
  if d % num_heads:
    raise MerjaxError(f"DIANet: feature_dim {d} not divisible by num_heads {num_heads}")
  dh = d // num_heads
  split = lambda x: x.reshape(x.shape[0], x.shape[1], num_heads, dh)
  s_BxHxQxN = jnp.einsum("bqhd,bnhd->bhqn", split(q_BxQxD).astype(jnp.float32),
                         split(k_BxNxD).astype(jnp.float32)) / jnp.sqrt(float(dh))
  w_BxHxQxN = jax.nn.softmax(s_BxHxQxN, axis=-1)
  out = jnp.einsum("bhqn,bnhd->bqhd", w_BxHxQxN, split(v_BxNxD).astype(jnp.float32))
  return out.reshape(b, nq, d).astype(q_BxQxD.dtype)


class DIANet(nn.Module):
  """Two (or one) backbone streams -> 512-d f1, f2 -> fusion -> projection -> MLP.

  Returns {"logits": B x K (float32), "f1": B x D, "f2": B x D} (`streams=1`: no "f2")."""
  TRACEABLE_FIELDS = ("dropout",)         # sweep values traced per member
  num_classes: int
  backbone: str = "efficientnetv2_s"      # Table 2: resnet18 | efficientnetv2_s | convnext_tiny | mobilevit_s
  backbone_options: Any = None            # {backbone name: {trunk field: value}} (small test trunks)
  shared_backbone: bool = True            # §2.2 "shared backbone"; False = one trunk per stream
  stack_streams: bool = False             # shared only: both streams in one 2B batch (joint BN statistics)
  streams: int = 2                        # 1 = a single stream on batch["image"] (Table 4 rows 1-3)
  feature_dim: int = 512                  # f1, f2 width (§2.2)
  fusion: str = "cross"                   # cross | cross_literal | simple (Table 3) | concat
  cross_query: str = "vector"             # "vector": f_i is the one query; "tokens": every token queries
  num_heads: int = 1                      # attention heads (cross, cross_literal)
  shared_qkv: bool = False                # one Q/K/V projection for both streams
  cross_residual: bool = False            # add f_i to its attended vector (cross, cross_literal)
  fusion_dim: int = 512                   # the projection after the concatenation
  fusion_activation: str = "none"         # "none" | "relu" after that projection
  mlp_hidden: int = 256                   # first FC of the MLP classifier
  dropout: float = 0.5                    # between the two FCs
  input_norm: str = "none"                # "imagenet": ImageNet mean / std per RGB channel first
  dtype: Any = jnp.float32

  @property
  def _prefix(self) -> str:
    return f"model.backbone_options.{self.backbone}"

  def _streams_out(self, batch, train):
    """[(f_BxD, tokens_BxNxD)] per stream."""
    dtype = self.dtype
    options = dict(self.backbone_options or {}).get(self.backbone)
    roles = TWO_STREAM_ROLES if self.streams == 2 else (ONE_STREAM_ROLE,)
    xs = [backbones.common.normalize_input(jnp.asarray(batch[r], dtype), self.input_norm)
          for r in roles]
    if self.streams == 1 or self.shared_backbone:
      trunk = backbones.make_trunk(self.backbone, options, dtype, "backbone", self._prefix)
      proj = nn.Dense(self.feature_dim, dtype=dtype, name="proj")
      if self.stack_streams and len(xs) == 2:
        out = trunk(jnp.concatenate(xs, axis=0), train=train)
        b = xs[0].shape[0]
        outs = [jax.tree.map(lambda a: a[:b], out), jax.tree.map(lambda a: a[b:], out)]
      else:
        outs = [trunk(x, train=train) for x in xs]
      projs = [proj] * len(xs)
    else:
      outs, projs = [], []
      for r, x in zip(("onset", "offset"), xs):
        outs.append(backbones.make_trunk(self.backbone, options, dtype, f"backbone_{r}",
                                         self._prefix)(x, train=train))
        projs.append(nn.Dense(self.feature_dim, dtype=dtype, name=f"proj_{r}"))
    result = []
    for out, proj in zip(outs, projs):
      fmap = out["feature_map"]
      tokens_BxNxC = fmap.reshape(fmap.shape[0], -1, fmap.shape[-1])
      result.append((proj(out["features"]), proj(tokens_BxNxC)))
    return result

  def _query_source(self, f_BxD, tokens_BxNxD):
    if self.cross_query == "vector":
      return f_BxD[:, None, :]
    if self.cross_query == "tokens":
      return tokens_BxNxD
    raise MerjaxError(f"DIANet: cross_query must be 'vector' or 'tokens', got {self.cross_query!r}")

  def _fuse(self, s1, s2):
    """Two attended (or plain) vectors, B x D each."""
    (f1, t1), (f2, t2) = s1, s2
    if self.fusion == "concat":
      return f1, f2
    if self.fusion == "simple":
      # Simple Attention Block (Table 3): plain dot-product attention, no projections, + residual.
      a1 = attend(self._query_source(f1, t1), t2, t2).mean(axis=1)
      a2 = attend(self._query_source(f2, t2), t1, t1).mean(axis=1)
      return f1 + a1, f2 + a2
    if self.fusion == "cross":
      q1, q2 = self._query_source(f1, t1), self._query_source(f2, t2)
      kv1, kv2 = t1, t2
    elif self.fusion == "cross_literal":
      q1 = kv1 = f1[:, None, :]   # one token per stream: softmax over one key is 1
      q2 = kv2 = f2[:, None, :]
    else:
      raise MerjaxError(f"DIANet: fusion must be one of {FUSIONS}, got {self.fusion!r}")
    layers = {}

    def dense(kind, stream):
      name = kind if self.shared_qkv else f"{kind}{stream}"
      if name not in layers:
        layers[name] = nn.Dense(self.feature_dim, dtype=self.dtype, name=name)
      return layers[name]

    Q1, K1, V1 = dense("q", 1)(q1), dense("k", 1)(kv1), dense("v", 1)(kv1)
    Q2, K2, V2 = dense("q", 2)(q2), dense("k", 2)(kv2), dense("v", 2)(kv2)
    a1 = attend(Q1, K2, V2, self.num_heads).mean(axis=1)   # onset attends to offset
    a2 = attend(Q2, K1, V1, self.num_heads).mean(axis=1)   # offset attends to onset
    if self.cross_residual:
      a1, a2 = a1 + f1, a2 + f2
    return a1, a2

  def _classifier(self, h_BxD, train):
    h = nn.relu(nn.Dense(self.mlp_hidden, dtype=self.dtype, name="fc1")(h_BxD))
    h = layers.Dropout(self.dropout)(h, deterministic=not train)
    return nn.Dense(self.num_classes, dtype=self.dtype, name="fc2")(h).astype(jnp.float32)

  @nn.compact
  def __call__(self, batch: Mapping[str, jax.Array], train: bool) -> dict[str, jax.Array]:
    if self.streams not in (1, 2):
      raise MerjaxError(f"DIANet: streams must be 1 or 2, got {self.streams}")
    if self.streams == 1:
      ((f_BxD, _),) = self._streams_out(batch, train)
      return {"logits": self._classifier(f_BxD, train), "f1": f_BxD}
    s1, s2 = self._streams_out(batch, train)
    a1, a2 = self._fuse(s1, s2)
    h_BxF = nn.Dense(self.fusion_dim, dtype=self.dtype, name="fuse_proj")(
        jnp.concatenate([a1, a2], axis=-1))
    if self.fusion_activation == "relu":
      h_BxF = nn.relu(h_BxF)
    elif self.fusion_activation != "none":
      raise MerjaxError(f"DIANet: fusion_activation must be 'none' or 'relu', got "
                        f"{self.fusion_activation!r}")
    return {"logits": self._classifier(h_BxF, train), "f1": s1[0], "f2": s2[0]}


def check_fields(fields: Mapping[str, Any]) -> None:
  """MerjaxError for a value DIANet does not accept (before any data is read)."""
  for key, choices in (("fusion", FUSIONS), ("cross_query", CROSS_QUERIES),
                       ("fusion_activation", FUSION_ACTIVATIONS), ("streams", (1, 2)),
                       ("input_norm", backbones.common.INPUT_NORMS)):
    if key in fields and fields[key] not in choices:
      raise MerjaxError(f"model.{key}: {fields[key]!r} is not one of {choices}")
  backbone = fields.get("backbone", DIANet.backbone)
  options = dict(fields.get("backbone_options") or {})
  for name in options:
    backbones.get(name, f"model.backbone_options.{name}")
  check_backbone(backbone, options.get(backbone))
