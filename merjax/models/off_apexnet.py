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

from merjax.errors import MerjaxError


class OffApexNet(nn.Module):
  """Per stream: conv 5x5/6 (pad 2) -> max-pool 2 -> conv 5x5/16 (pad 2) -> max-pool 2 (28 -> 7x7x16);
  concat (1568) -> FC 1024 -> ReLU -> dropout -> FC 1024 -> ReLU -> dropout -> FC K."""
  num_classes: int
  conv_widths: tuple[int, int] = (6, 16)
  hidden: int = 1024
  dropout: float = 0.5
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
        raise MerjaxError(f"model.conv_activation: {self.conv_activation!r} is not 'none' or 'relu'")
      x = nn.max_pool(x, (2, 2), strides=(2, 2))
    return x.reshape(x.shape[0], -1)

  @nn.compact
  def __call__(self, batch: dict, train: bool) -> dict:
    x_BxHxWxC = jnp.asarray(batch["image"], self.dtype)
    if x_BxHxWxC.shape[-1] < 2:
      raise MerjaxError(f"off_apexnet: batch['image'] needs >= 2 channels (u, v), got shape "
                        f"{x_BxHxWxC.shape}")
    u_Bxd = self._stream(x_BxHxWxC[..., 0:1], "u")
    v_Bxd = self._stream(x_BxHxWxC[..., 1:2], "v")
    x = jnp.concatenate([u_Bxd, v_Bxd], axis=-1)
    for i in range(2):
      x = nn.Dense(self.hidden, dtype=self.dtype, name=f"fc{i + 1}")(x)
      x = nn.relu(x)
      x = nn.Dropout(self.dropout)(x, deterministic=not train)
    logits_BxK = nn.Dense(self.num_classes, dtype=self.dtype, name="classifier")(x)
    return {"logits": logits_BxK.astype(jnp.float32)}


def check_fields(fields: dict) -> None:
  """MerjaxError for a value OffApexNet does not accept (before any data is read)."""
  if fields.get("conv_activation", "none") not in ("none", "relu"):
    raise MerjaxError(f"model.conv_activation: {fields['conv_activation']!r} is not 'none' or 'relu'")
