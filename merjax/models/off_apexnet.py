"""OFF-ApexNet (Gan et al. 2019): two shallow CNN streams on the onset->apex flow u and v.

No official code exists. The layer sizes follow the third-party PyTorch re-implementation in
`ECNU-Cross-Innovation-Lab/PRICAI2021-Off-TANet` (models/off_apexnet.py), read, not copied; with 3 classes
it has 2,664,475 parameters. Input: `batch["image"]` B x 28 x 28 x C with C >= 2, channel 0 = u, 1 = v
(further channels, e.g. strain, are ignored).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn


class OffApexNet(nn.Module):
  """Per stream: conv 5x5/6 (pad 2) -> max-pool 2 -> conv 5x5/16 (pad 2) -> max-pool 2 (28 -> 7x7x16);
  concat (1568) -> FC 1024 -> ReLU -> dropout -> FC 1024 -> ReLU -> dropout -> FC K."""
  num_classes: int
  conv_widths: tuple[int, int] = (6, 16)
  hidden: int = 1024
  dropout_rate: float = 0.5
  # The re-implementation has no activation after its convs; "relu" adds one (ours, off by default).
  conv_activation: str = "none"
  dtype: Any = jnp.float32

  def _stream(self, x_BxHxWx1, name: str):
    x = x_BxHxWx1
    for i, width in enumerate(self.conv_widths):
      x = nn.Conv(width, (5, 5), padding=((2, 2), (2, 2)), dtype=self.dtype, name=f"{name}_conv{i + 1}")(x)
      if self.conv_activation == "relu":
        x = nn.relu(x)
      elif self.conv_activation != "none":
        raise ValueError(f"OffApexNet: conv_activation must be 'none' or 'relu', got {self.conv_activation!r}")
      x = nn.max_pool(x, (2, 2), strides=(2, 2))
    return x.reshape(x.shape[0], -1)

  @nn.compact
  def __call__(self, batch: dict, train: bool) -> dict:
    x_BxHxWxC = jnp.asarray(batch["image"], self.dtype)
    if x_BxHxWxC.shape[-1] < 2:
      raise ValueError(f"OffApexNet: batch['image'] needs >= 2 channels (u, v), got shape {x_BxHxWxC.shape}")
    u_Bxd = self._stream(x_BxHxWxC[..., 0:1], "u")
    v_Bxd = self._stream(x_BxHxWxC[..., 1:2], "v")
    x = jnp.concatenate([u_Bxd, v_Bxd], axis=-1)
    for i in range(2):
      x = nn.Dense(self.hidden, dtype=self.dtype, name=f"fc{i + 1}")(x)
      x = nn.relu(x)
      x = nn.Dropout(self.dropout_rate)(x, deterministic=not train)
    logits_BxK = nn.Dense(self.num_classes, dtype=self.dtype, name="classifier")(x)
    return {"logits": logits_BxK.astype(jnp.float32)}


def build(model_cfg: dict, num_classes: int) -> nn.Module:
  cfg = {k: v for k, v in dict(model_cfg).items() if k not in ("name", "input_shapes")}
  if "conv_widths" in cfg:
    cfg["conv_widths"] = tuple(cfg["conv_widths"])
  if isinstance(cfg.get("dtype"), str):
    cfg["dtype"] = jnp.dtype(cfg["dtype"])
  return OffApexNet(num_classes=num_classes, **cfg)
