"""Times one jitted forward + backward of a model, to compare variants of one network.

  python tools/bench_step.py --model fdp --quick --batch 16
  python tools/bench_step.py --model fdp --quick --batch 16 model.use_global=false

Builds the model from its config (after `--quick` and the key=value overrides), draws a random
batch of the config's input shapes, and times `jax.grad` of the sum of squares of every output
(train mode: BatchNorm statistics and dropout on; no optimizer, no data pipeline): compile time
and the median of `--repeats` calls. One Markdown row for docs/benchmarks.md. For whole-trainer
timings (strategies, folds) use tools/bench_trainer.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from merjax import config as config_lib  # noqa: E402
from merjax.models import inputs, summary, testing  # noqa: E402
from merjax.models.registry import build_model  # noqa: E402


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--model", required=True)
  parser.add_argument("--quick", action="store_true", help="the config's QUICK overrides first")
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--classes", type=int, default=5)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("overrides", nargs="*", help="config key=value")
  args = parser.parse_args(argv)

  config = config_lib.resolve(args.model, "synthetic", args.overrides, quick=args.quick)
  shapes = inputs.input_shapes(config)
  model = build_model(config["model"], args.classes)
  batch = {role: jax.random.uniform(jax.random.key(i), (args.batch, *shape))
           for i, (role, shape) in enumerate(sorted(shapes.items()))}
  # Host-filled variables: compiling Flax's initialisers would cost as much as the step.
  variables = testing.materialize(summary.abstract_variables(model, batch))

  def loss(params, batch_stats, b):
    out, _ = model.apply({"params": params, "batch_stats": batch_stats}, b, train=True,
                         rngs={"dropout": jax.random.key(2)}, mutable=["batch_stats"])
    out = out if isinstance(out, dict) else {"logits": out}
    return sum(jnp.mean(jnp.square(v.astype(jnp.float32))) for v in out.values())

  call_args = (variables["params"], variables.get("batch_stats", {}), batch)
  t0 = time.perf_counter()
  step = jax.jit(jax.grad(loss)).lower(*call_args).compile()
  compile_s = time.perf_counter() - t0
  jax.block_until_ready(step(*call_args))
  times = []
  for _ in range(args.repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(step(*call_args))
    times.append(time.perf_counter() - t0)
  dev = jax.devices()[0]
  print(f"# {args.model}{' --quick' if args.quick else ''} {' '.join(args.overrides)}; batch "
        f"{args.batch}; inputs {shapes}; {dev.platform} "
        f"({dev.device_kind}); jax {jax.__version__}; load {os.getloadavg()[0]:.2f}")
  print("| variant | compile (s) | ms per forward + backward (median) |")
  print("|---|---:|---:|")
  print(f"| {' '.join(args.overrides) or 'as configured'} | {compile_s:.1f} | "
        f"{1000 * statistics.median(times):.0f} |")
  return 0


if __name__ == "__main__":
  sys.exit(main())
