"""Parameters, FLOPs and batch-1 inference latency of a model config.

  python -m experiments.profile --model NAME [key=value ...] [--runs 100] [--json]
  python -m experiments.profile --all-dfrnet-configs [key=value ...]   # DFR-Net Tables 5, 7, 9

Parameters: merjax.models.summary (PyTorch convention). FLOPs: XLA's cost
analysis of the compiled forward pass (train=False), which counts a
multiply-add as 2 (so GMACs ~ FLOPs / 2, the unit `thop`-style counters call
"FLOPs"). Latency: median over `--runs` calls after `--warmup`, batch 1, on CPU,
and on the default accelerator too when there is one. The 1-minute load average
before and after is reported: the timings are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from merjax import cli
from merjax import config as config_lib
from merjax.models import inputs, summary
from merjax.models.registry import build_model

# DFR-Net cost configurations of Tables 5, 7 and 9: (label, overrides, paper
# {params in M, GFLOPs as printed, speed in ms on an i7-1165G7}).
DFRNET_CONFIGS = [
    ("T5 AlexNet", ["model.module=alexnet"], {"params_m": 2.384, "gflops": 1.093, "ms": 39.872}),
    ("T5 VGG", ["model.module=vgg"], {"params_m": 7.104, "gflops": 2.672, "ms": 59.137}),
    ("T5 Inception", ["model.module=inception"], {"params_m": 3.218, "gflops": 1.123, "ms": 45.134}),
    ("T5 ViT", ["model.module=vit"], {"params_m": 85.892, "gflops": 17.801, "ms": 308.997}),
    ("T5/T7 ResNet, no attention", ["model.attention=none"],
     {"params_m": 3.273, "gflops": 2.229, "ms": 54.713}),
    ("T6 ResNet + SA", ["model.attention=sa"], {}),
    ("T6 ResNet + CA", ["model.attention=ca"], {}),
    ("T7/T9 DFR-Net (CA+SA, 3 layers)", [], {"params_m": 3.296, "gflops": 2.231, "ms": 65.944}),
    ("T9 1 layer", ["model.num_stages=1"], {"params_m": 0.456, "gflops": 1.404, "ms": 40.108}),
    ("T9 2 layers", ["model.num_stages=2"], {"params_m": 1.046, "gflops": 1.817, "ms": 47.282}),
    ("T9 4 layers", ["model.num_stages=4"], {"params_m": 11.412, "gflops": 2.640, "ms": 89.513}),
]


def _flops(compiled) -> float | None:
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  value = (cost or {}).get("flops")
  return None if value is None else float(value)


def _latency_ms(fn, variables, batch, device, runs: int, warmup: int) -> float:
  variables, batch = jax.device_put((variables, batch), device)
  for _ in range(max(warmup, 1)):
    jax.block_until_ready(fn(variables, batch))
  times = []
  for _ in range(runs):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(variables, batch))
    times.append(time.perf_counter() - t0)
  return float(np.median(times) * 1e3)


def profile_config(config: dict, num_classes: int = 3, runs: int = 100, warmup: int = 5,
                   devices=None) -> dict:
  """{"model", "params", "flops", "latency_ms" (CPU), "latency_ms_<platform>"...,
  "inputs"} for the config's model on a batch of 1 (shapes from data.inputs / preprocess)."""
  model_cfg = config["model"]
  shapes = {r: (1,) + tuple(s) for r, s in inputs.input_shapes(config).items()}
  model = build_model(model_cfg, num_classes)
  batch = {r: jnp.zeros(s, jnp.float32) for r, s in shapes.items()}
  abstract = summary.abstract_variables(model, batch)
  params = summary.count_params(abstract["params"])
  variables = _random_variables(abstract)
  forward = jax.jit(lambda v, b: model.apply(v, b, train=False)["logits"])
  out = {"model": model_cfg["name"], "params": params,
         "inputs": {r: list(s) for r, s in shapes.items()}}
  devices = devices if devices is not None else _devices()
  for device in devices:
    placed_v, placed_b = jax.device_put((variables, batch), device)
    compiled = forward.lower(placed_v, placed_b).compile()
    key = "" if device.platform == "cpu" else f"_{device.platform}"
    if device.platform == "cpu":
      out["flops"] = _flops(compiled)
    out[f"latency_ms{key}"] = _latency_ms(compiled, placed_v, placed_b, device, runs, warmup)
  if "flops" not in out:
    out["flops"] = None
  return out


def _random_variables(abstract, seed: int = 0):
  """Host-random values of the abstract variables' shapes (no init compile;
  dense kernels cost the same whatever the values): N(0, 0.02), BN var 1."""
  rng = np.random.default_rng(seed)

  def fill(path, s):
    if "var" in jax.tree_util.keystr(path):
      return np.ones(s.shape, s.dtype)
    return (0.02 * rng.standard_normal(s.shape)).astype(s.dtype)
  return jax.tree_util.tree_map_with_path(fill, abstract)


def _devices():
  devices = [jax.devices("cpu")[0]]
  default = jax.devices()[0]
  if default.platform != "cpu":
    devices.append(default)
  return devices


def _load() -> float | None:
  try:
    return round(os.getloadavg()[0], 2)
  except OSError:
    return None


def markdown(rows: list[dict]) -> str:
  """The profile rows as a Markdown table, ours beside the paper's figures."""
  gpu = any(k.startswith("latency_ms_") for r in rows for k in r)
  head = ("| configuration | params (ours) | params (paper) | GFLOPs XLA (ours) | GMACs = XLA/2 (ours) "
          "| GFLOPs (paper) | CPU ms, median (ours) | ms (paper, i7-1165G7) |"
          + (" accelerator ms (ours) |" if gpu else "") + " load before/after |")
  lines = [head, "|---" * (head.count("|") - 1) + "|"]
  for r in rows:
    p = r.get("paper", {})
    flops = r.get("flops")
    cells = [r.get("label", r["model"]), f"{r['params']:,}",
             f"{p['params_m']:.3f}M" if "params_m" in p else "-",
             "n/a" if flops is None else f"{flops / 1e9:.3f}",
             "n/a" if flops is None else f"{flops / 2e9:.3f}",
             f"{p['gflops']:.3f}" if "gflops" in p else "-",
             f"{r['latency_ms']:.1f}",
             f"{p['ms']:.1f}" if "ms" in p else "-"]
    if gpu:
      acc = [v for k, v in r.items() if k.startswith("latency_ms_")]
      cells.append(f"{acc[0]:.2f}" if acc else "-")
    cells.append(f"{r.get('load_before')}/{r.get('load_after')}")
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", default=None)
  parser.add_argument("--all-dfrnet-configs", action="store_true",
                      help="every DFR-Net configuration of Tables 5, 7 and 9")
  parser.add_argument("--num-classes", type=int, default=3)
  parser.add_argument("--runs", type=int, default=100)
  parser.add_argument("--warmup", type=int, default=5)
  parser.add_argument("--cpu-only", action="store_true")
  parser.add_argument("--json", action="store_true")
  parser.add_argument("overrides", nargs="*")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if not args.model and not args.all_dfrnet_configs:
    parser.error("give --model NAME or --all-dfrnet-configs")
  jobs = ([(label, "dfrnet", ov, paper) for label, ov, paper in DFRNET_CONFIGS]
          if args.all_dfrnet_configs else [(args.model, args.model, [], {})])
  devices = [jax.devices("cpu")[0]] if args.cpu_only else _devices()
  return cli.guarded(lambda: _profile(args, jobs, devices))


def _profile(args, jobs, devices) -> int:
  """Profiles each job and prints the table."""
  rows = []
  for label, name, overrides, paper in jobs:
    config = config_lib.resolve(name, "synthetic", list(overrides) + list(args.overrides))
    before = _load()
    row = profile_config(config, args.num_classes, args.runs, args.warmup, devices)
    row.update(label=label, paper=paper, load_before=before, load_after=_load())
    rows.append(row)
    print(f"{label}: {row['params']:,} params, "
          f"{(row['flops'] or 0) / 1e9:.3f} GFLOPs, {row['latency_ms']:.1f} ms CPU"
          + "".join(f", {v:.2f} ms {k[len('latency_ms_'):]}" for k, v in row.items()
                    if k.startswith("latency_ms_"))
          + f" (load {before}/{row['load_after']})", file=sys.stderr, flush=True)
  if args.json:
    print(json.dumps(rows, indent=2))
  else:
    print(f"device: {jax.devices()[0].device_kind}, {os.cpu_count()} CPU(s) visible, "
          f"batch 1, median of {args.runs} runs after {args.warmup} warm-up\n")
    print(markdown(rows))
  return 0


if __name__ == "__main__":
  sys.exit(main())
