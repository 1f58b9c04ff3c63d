"""The member axis sharded over several (fake CPU) devices gives the results of one device."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _run(devices: int, strategy: str) -> dict:
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             JAX_PLATFORMS="cpu")
  out = subprocess.run([sys.executable, os.path.join(HERE, "sharded_run.py"), strategy],
                       env=env, capture_output=True, text=True, timeout=600, check=True)
  return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("strategy", ["vmap", "sequential"])
def test_two_devices_equal_one(strategy):
  one, two = _run(1, strategy), _run(2, strategy)
  assert one["devices"] == 1 and two["devices"] == 2
  assert set(one["logits"]) == set(two["logits"]) == {"0", "1", "2", "3"}
  for m in one["logits"]:
    np.testing.assert_allclose(two["logits"][m], one["logits"][m], atol=1e-10)
