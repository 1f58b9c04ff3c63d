"""Benchmark TV-L1 optical flow: merjax's jnp kernel vs cv2.optflow.

Prints Markdown table rows (device, command, method, pairs/s, ms/pair, mean
EPE vs OpenCV) for docs/benchmarks.md. Usage:

  python tools/bench_modalities_flow.py --size 128 --batch 16 --repeats 3
"""

import argparse
import os
import platform
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from merjax.modalities import flow  # pylint: disable=wrong-import-position


def _pairs(n, size, seed=0):
  """n smooth-texture pairs with smooth motion up to ~3 px (uint8)."""
  import cv2  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(seed)
  y_HxW, x_HxW = np.mgrid[0:size, 0:size].astype(np.float32)
  f0s, f1s = [], []
  for _ in range(n):
    tex_HxW = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 3)
    tex_HxW = (tex_HxW - tex_HxW.min()) / (tex_HxW.max() - tex_HxW.min())
    a = rng.uniform(0, 2 * np.pi, 2)
    u_HxW = 3 * np.sin(2 * np.pi * x_HxW / 160 + a[0]) * np.cos(2 * np.pi * y_HxW / 200)
    v_HxW = 3 * np.cos(2 * np.pi * y_HxW / 150 + a[1]) * np.sin(2 * np.pi * x_HxW / 180)
    map_x_HxW, map_y_HxW = (x_HxW - u_HxW).astype(np.float32), (y_HxW - v_HxW).astype(np.float32)
    warped_HxW = cv2.remap(tex_HxW, map_x_HxW, map_y_HxW, cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_REFLECT)
    f0s.append(np.round(tex_HxW * 255).astype(np.uint8))
    f1s.append(np.round(np.clip(warped_HxW, 0, 1) * 255).astype(np.uint8))
  return np.stack(f0s), np.stack(f1s)


def _time(fn, repeats):
  """Best wall time of `repeats` calls (after one warm-up call)."""
  jax.block_until_ready(fn())
  best = float("inf")
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(fn())
    best = min(best, time.perf_counter() - t)
  return best


def _epe(a_NxHxWx2, b_NxHxWx2):
  return float(np.linalg.norm(np.asarray(a_NxHxWx2) - b_NxHxWx2, axis=-1).mean())


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--size", type=int, default=128)
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--skip-single", action="store_true",
                      help="skip the unbatched jnp row")
  args = parser.parse_args()
  import cv2  # pylint: disable=import-outside-toplevel

  f0_NxHxW, f1_NxHxW = _pairs(args.batch, args.size)
  n = args.batch
  dev = jax.devices()[0]
  device = f"{dev.platform}: {dev.device_kind} ({platform.machine()}, {os.cpu_count()} cpu)"
  command = "python tools/bench_modalities_flow.py " + " ".join(sys.argv[1:])

  ref_NxHxWx2 = np.stack([flow.cv2_tvl1_flow(a, b) for a, b in zip(f0_NxHxW, f1_NxHxW)])
  rows = []
  t = _time(lambda: [flow.cv2_tvl1_flow(a, b) for a, b in zip(f0_NxHxW, f1_NxHxW)],
            args.repeats)
  rows.append((f"cv2.optflow DualTVL1 ({cv2.getNumThreads()} threads), loop", n / t, "0"))

  if not args.skip_single:
    single = lambda: [flow.tvl1_flow(a, b) for a, b in zip(f0_NxHxW, f1_NxHxW)]
    t = _time(single, args.repeats)
    rows.append(("merjax jnp, jit, one pair per call (early stop)", n / t,
                 f"{_epe(np.stack(single()), ref_NxHxWx2):.4f}"))
  for fixed in (False, True):
    batch = lambda fixed=fixed: flow.tvl1_flow_batch(f0_NxHxW, f1_NxHxW, fixed_iterations=fixed)
    t = _time(batch, args.repeats)
    mode = "fixed iterations" if fixed else "early stop"
    rows.append((f"merjax jnp, jit + vmap batch {n} ({mode})", n / t,
                 f"{_epe(batch(), ref_NxHxWx2):.4f}"))

  print(f"TV-L1 defaults, {n} pairs of {args.size}x{args.size}, best of {args.repeats}")
  print("| device | command | method | pairs/s | ms/pair | mean EPE vs cv2 (px) |")
  print("|---|---|---|---|---|---|")
  for method, pps, epe in rows:
    print(f"| {device} | `{command}` | {method} | {pps:.2f} | {1000 / pps:.0f} | {epe} |")


if __name__ == "__main__":
  main()
