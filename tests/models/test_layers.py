"""merjax.models.layers: PatchConv against nn.Conv with the same parameters."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from merjax.models import layers


@pytest.mark.parametrize("groups,use_bias,kernel,padding", [
    (1, True, (3, 3), 2), (4, False, (3, 3), 1), (8, True, (1, 1), 0), (2, False, (5, 3), 1)])
def test_patch_conv_equals_nn_conv(groups, use_bias, kernel, padding):
  x = jax.random.normal(jax.random.key(0), (2, 7, 9, 16))
  patch = layers.PatchConv(24, kernel, padding, groups=groups, use_bias=use_bias)
  params = patch.init(jax.random.key(1), x)
  assert params["params"]["kernel"].shape == (*kernel, 16 // groups, 24)
  if use_bias:   # a non-zero bias, so that a missing one would show
    params = {"params": dict(params["params"], bias=jnp.arange(24.0) / 10)}
  conv = nn.Conv(24, kernel, padding=padding, feature_group_count=groups, use_bias=use_bias)
  want = conv.apply(params, x)
  got = patch.apply(params, x)
  assert got.shape == want.shape
  np.testing.assert_allclose(got, want, atol=1e-5)
  # and the gradients with respect to the kernel
  g_want = jax.grad(lambda p: jnp.sum(conv.apply(p, x) ** 2))(params)
  g_got = jax.grad(lambda p: jnp.sum(patch.apply(p, x) ** 2))(params)
  np.testing.assert_allclose(g_got["params"]["kernel"], g_want["params"]["kernel"],
                             rtol=1e-4, atol=1e-4)
