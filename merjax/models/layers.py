"""Small layers shared by every model: BatchNorm with PyTorch's defaults, dropout with a
traceable rate, stochastic depth (DropPath), the patch-GEMM convolution and the dtype names."""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from merjax.errors import MerjaxError

# PyTorch BatchNorm2d(momentum=0.1) updates running = 0.9 * running + 0.1 * batch;
# flax's `momentum` is the weight on the old value.
TORCH_BN_MOMENTUM = 0.9


# The valid samples of the batch being traced (train.last_batch=partial), B booleans; set by
# the trainer around a training forward pass (`batch_mask`), read by every `batch_norm`.
_BATCH_MASK: contextvars.ContextVar = contextvars.ContextVar("merjax_batch_mask", default=None)


@contextlib.contextmanager
def batch_mask(valid_B):
  """Within this block, training-mode BatchNorm statistics (and their running averages)
  are computed over the samples where valid_B (B booleans) is True only."""
  token = _BATCH_MASK.set(valid_B)
  try:
    yield
  finally:
    _BATCH_MASK.reset(token)


class BatchNorm(nn.BatchNorm):
  """flax BatchNorm (same variables) as PyTorch's BatchNorm2d: normalised by the biased
  batch variance, but the running variance averages the *unbiased* one (x n / (n - 1),
  n = values per channel). Batch statistics skip the samples masked by an enclosing
  `batch_mask` (a partial last batch padded to the fixed batch shape)."""

  def __call__(self, x, use_running_average=None, *, mask=None):
    valid_B = _BATCH_MASK.get()
    running = nn.merge_param("use_running_average", self.use_running_average,
                             use_running_average)
    if mask is None and valid_B is not None and not running:
      b = valid_B.shape[0]
      rows = jnp.tile(valid_B, x.shape[0] // b) if x.shape[0] != b else valid_B
      mask = jnp.broadcast_to(rows.reshape((-1,) + (1,) * (x.ndim - 1)), x.shape)
    if running or self.is_initializing() or not self.has_variable("batch_stats", "var"):
      return super().__call__(x, use_running_average, mask=mask)
    old = self.get_variable("batch_stats", "var")
    y = super().__call__(x, use_running_average, mask=mask)
    m = self.momentum
    biased = (self.get_variable("batch_stats", "var") - m * old) / (1.0 - m)
    n = (jnp.sum(mask) if mask is not None else x.size) / x.shape[-1]
    unbiased = biased * (n / jnp.maximum(n - 1.0, 1.0)).astype(biased.dtype)
    self.put_variable("batch_stats", "var", m * old + (1.0 - m) * unbiased)
    return y


def batch_norm(train: bool, eps: float = 1e-5, dtype: Any = jnp.float32,
               name: str | None = None, scale_init=nn.initializers.ones) -> nn.BatchNorm:
  """The one BatchNorm of merjax models: PyTorch's BatchNorm2d defaults (momentum 0.1 =
  flax 0.9, eps 1e-5 unless given), batch statistics in training, running ones in eval."""
  return BatchNorm(use_running_average=not train, momentum=TORCH_BN_MOMENTUM,
                   epsilon=eps, dtype=dtype, scale_init=scale_init, name=name)


def resolve_dtype(value: Any) -> Any:
  """'bfloat16' / jnp.bfloat16 / None -> a jnp scalar type (None -> float32)."""
  if value is None:
    return jnp.float32
  try:
    return jnp.dtype(value).type
  except TypeError as e:
    raise MerjaxError(f"model.dtype: unknown dtype {value!r}") from e


def _drop(module: nn.Module, x, rate, broadcast_dims: Sequence[int], deterministic: bool):
  """x with entries zeroed with probability `rate` (one draw per broadcast slice) and the
  kept ones scaled by 1 / (1 - rate), drawn from `module`'s "dropout" rng."""
  concrete = not isinstance(rate, jax.Array)
  if deterministic or (concrete and rate == 0.0):
    return x
  keep = 1.0 - jnp.asarray(rate, jnp.float32)
  shape = list(x.shape)
  for dim in broadcast_dims:
    shape[dim] = 1
  mask = jnp.broadcast_to(jax.random.bernoulli(module.make_rng("dropout"), keep, shape), x.shape)
  return jax.lax.select(mask, x / keep.astype(x.dtype), jnp.zeros_like(x))


class Dropout(nn.Module):
  """`nn.Dropout` whose rate may be a traced scalar (a per-member sweep value).

  Same random numbers and scaling as `nn.Dropout`: keep with probability
  1 - rate, scale kept values by 1 / (1 - rate). A concrete rate of 0 returns
  the input without drawing a mask.
  """
  rate: Any
  broadcast_dims: Sequence[int] = ()

  @nn.compact
  def __call__(self, x, deterministic: bool):
    return _drop(self, x, self.rate, self.broadcast_dims, deterministic)


class DropPath(nn.Module):
  """Stochastic depth ("row" mode, timm DropPath): in training, drops the whole input of
  each sample (a residual branch) with probability `rate` and scales the kept ones by
  1 / (1 - rate); identity in eval. x_Bx___: B x ... ; `rate` may be a traced scalar.
  The same random numbers as `Dropout(rate, broadcast_dims=1..ndim-1)`."""
  rate: Any

  @nn.compact
  def __call__(self, x_Bx___, deterministic: bool):
    return _drop(self, x_Bx___, self.rate, range(1, x_Bx___.ndim), deterministic)


class PatchConv(nn.Module):
  """A stride-1 convolution with nn.Conv's parameters (kernel kh x kw x C/groups x F, bias
  F when `use_bias`) and output, computed as image patches times a matrix: shifted slices
  of the zero-padded input, then one einsum (for `groups` > 1, one GEMM per group, batched).

  On XLA:CPU this is several times faster than `lax.conv` (whose grouped-convolution gradient
  is slow there), and under `vmap` over folds it stays a batched GEMM (docs/benchmarks.md)."""
  features: int
  kernel_size: tuple[int, int]
  padding: int
  groups: int = 1
  use_bias: bool = True
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x_BxHxWxC):
    c, g, f = x_BxHxWxC.shape[-1], self.groups, self.features
    assert c % g == 0 and f % g == 0, f"channels {c} -> {f} not divisible by groups {g}"
    kh, kw = self.kernel_size
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (kh, kw, c // g, f))
    p = self.padding
    x = jnp.pad(x_BxHxWxC.astype(self.dtype), ((0, 0), (p, p), (p, p), (0, 0)))
    b, oh, ow = x.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1
    # im2col by shifted slices (K = kh * kw taps); on the CPU faster than
    # conv_general_dilated_patches. Group j reads channels and writes features j*C/g...
    patches_BxHxWxKxGxI = jnp.stack(
        [x[:, i:i + oh, j:j + ow] for i in range(kh) for j in range(kw)],
        axis=3).reshape(b, oh, ow, kh * kw, g, c // g)
    w_KxIxGxO = kernel.reshape(kh * kw, c // g, g, f // g).astype(self.dtype)
    y = jnp.einsum("bhwkgi,kigo->bhwgo", patches_BxHxWxKxGxI, w_KxIxGxO).reshape(b, oh, ow, f)
    if self.use_bias:
      y = y + self.param("bias", nn.initializers.zeros, (f,)).astype(self.dtype)
    return y
