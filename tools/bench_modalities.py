"""Throughput of the modality kernels: merjax jnp against OpenCV / numpy.

  python tools/bench_modalities.py --clips 32 --frames 32 --size 128 --repeats 3 \
      --device-note "2-core x86_64 CPU, shared"

Rows (Markdown, for docs/benchmarks.md): dynamic image (harmonic approximate
rank pooling) and MESTI per clip, histogram equalisation of every frame of a
clip, and TV-L1 flow per pair (one onset -> apex pair per clip, at most
`--flow-pairs`; OpenCV runs the first `--cv2-pairs`). With `--stage-clips N`, the
whole modality stage (every seed system's image modality, flow included) over N
synthetic clips of 60-70 frames is timed too. The jnp kernels are jitted and vmapped over the clips of the
batch, uint8 inputs already on the device (converted to float inside); the reference is what an OpenCV-era
pipeline does on the host: a numpy weighted sum per clip (`np.tensordot` with
the numpy weights of merjax.modalities.rank_pooling), cv2.equalizeHist per
frame and channel, cv2.optflow.DualTVL1 per pair (the TV-L1 pairs, parameters
and EPE come from tools/bench_modalities_flow.py). Every time is the median of
`--repeats` calls after one warm-up call (the warm-up compiles; its time is
shown). The load average before and after is printed: on a shared CPU the
figures are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

_TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(_TOOLS), _TOOLS]

import bench_modalities_flow as flow_bench  # noqa: E402
from merjax.modalities import flow, preprocess, rank_pooling  # noqa: E402


def median_time(fn, repeats: int) -> tuple[float, float]:
  """(seconds of the first call, median seconds of `repeats` further calls)."""
  t0 = time.perf_counter()
  jax.block_until_ready(fn())
  first = time.perf_counter() - t0
  times = []
  for _ in range(max(repeats, 1)):
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - t0)
  return first, float(np.median(times))


def make_clips(clips: int, frames: int, size: int, channels: int, seed: int = 0):
  """uint8 clips N x T x H x W x C: a smooth texture drifting by up to a pixel per frame."""
  rng = np.random.default_rng(seed)
  y_HxW, x_HxW = np.mgrid[0:size, 0:size].astype(np.float32)
  t_T = np.arange(frames, dtype=np.float32)[:, None, None]
  out = np.empty((clips, frames, size, size, channels), np.uint8)
  for n in range(clips):
    k_Cx2 = rng.uniform(0.02, 0.2, (channels, 2))
    phase_C = rng.uniform(0, 2 * np.pi, channels)
    for c in range(channels):
      wave_TxHxW = np.sin(k_Cx2[c, 0] * (x_HxW + 0.5 * t_T) + k_Cx2[c, 1] * y_HxW + phase_C[c])
      noise_HxW = rng.normal(0, 0.1, (size, size))
      out[n, ..., c] = np.clip(127.5 + 100 * (wave_TxHxW + noise_HxW), 0, 255).astype(np.uint8)
  return out


def _minmax_np(x):
  lo, hi = x.min(), x.max()
  return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def numpy_weighted_images(clips_NxTxHxWxC, weights_T):
  """The host reference: one tensordot per clip, min-max scaled, float32."""
  w_T = weights_T.astype(np.float32)
  return np.stack([_minmax_np(np.tensordot(w_T, clip.astype(np.float32) / 255, axes=1))
                   for clip in clips_NxTxHxWxC])


def cv2_equalize(clips_NxTxHxWxC):
  """cv2.equalizeHist on every channel of every frame (split / merge)."""
  import cv2  # pylint: disable=import-outside-toplevel
  out = np.empty_like(clips_NxTxHxWxC)
  for n, clip in enumerate(clips_NxTxHxWxC):
    for t, frame in enumerate(clip):
      planes = cv2.split(frame) if frame.shape[-1] > 1 else [frame[..., 0]]
      out[n, t] = np.stack([cv2.equalizeHist(p) for p in planes], axis=-1)
  return out


def _load() -> str:
  try:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())
  except OSError:
    return "n/a"


def bench_rows(args) -> list[dict]:
  """One dict per (kernel, implementation): items, first-call s, median s, check."""
  clips_u8 = make_clips(args.clips, args.frames, args.size, args.channels)
  T, apex0 = args.frames, (args.frames - 1) // 2
  clips_dev_u8 = jax.device_put(jnp.asarray(clips_u8))
  n = args.clips
  rows = []

  def add(kernel, impl, items, timed, check="", unit="clips"):
    first, med = timed
    rows.append(dict(kernel=kernel, impl=impl, items=items, first=first, median=med,
                     check=check, unit=unit))

  # Dynamic image (harmonic ARP) and MESTI: weighted sums over the frames.
  to_f32 = lambda c_TxHxWxC: c_TxHxWxC.astype(jnp.float32) / 255
  di_jnp = jax.jit(jax.vmap(lambda c: rank_pooling.dynamic_image(to_f32(c), kind="harmonic")))
  mesti_jnp = jax.jit(jax.vmap(lambda c: rank_pooling.mesti(to_f32(c), apex_index=apex0)))
  for kernel, fn, w_T in (
      ("dynamic image (harmonic ARP)", di_jnp, rank_pooling.rank_pooling_weights(T, "harmonic")),
      ("MESTI (apex = middle frame)", mesti_jnp, rank_pooling.mesti_weights(T, apex0 + 1))):
    ref = numpy_weighted_images(clips_u8, w_T)
    add(kernel, "numpy tensordot per clip", n,
        median_time(lambda w_T=w_T: numpy_weighted_images(clips_u8, w_T), args.repeats))
    timed = median_time(lambda fn=fn: fn(clips_dev_u8), args.repeats)   # first call compiles
    diff = float(np.abs(np.asarray(fn(clips_dev_u8)) - ref).max())
    add(kernel, f"merjax jnp, jit + vmap {n} clips", n, timed, f"max abs diff {diff:.1e}")

  # Histogram equalisation of every frame and channel.
  eq_jnp = jax.jit(jax.vmap(preprocess.equalize_frames))
  ref = cv2_equalize(clips_u8)
  add("equalizeHist, every frame", "cv2.equalizeHist per frame and channel", n,
      median_time(lambda: cv2_equalize(clips_u8), args.repeats))
  timed = median_time(lambda: eq_jnp(clips_dev_u8), args.repeats)
  same = bool((np.asarray(eq_jnp(clips_dev_u8)) == ref).all())
  add("equalizeHist, every frame", f"merjax jnp, jit + vmap {n} clips", n, timed,
      "bit-exact vs cv2" if same else "DIFFERS from cv2")

  # TV-L1, one pair per clip, the flow bench's pairs and EPE.
  pairs = n if args.flow_pairs is None else min(n, args.flow_pairs)
  if pairs:
    import cv2  # pylint: disable=import-outside-toplevel
    f0_NxHxW, f1_NxHxW = flow_bench._pairs(pairs, args.size)  # pylint: disable=protected-access
    cv_pairs = min(pairs, args.cv2_pairs or pairs)   # OpenCV times (and checks) the first ones
    cv2_loop = lambda: [flow.cv2_tvl1_flow(a, b)
                        for a, b in zip(f0_NxHxW[:cv_pairs], f1_NxHxW[:cv_pairs])]
    ref_NxHxWx2 = np.stack(cv2_loop())
    add("TV-L1 flow (defaults)", f"cv2.optflow DualTVL1 ({cv2.getNumThreads()} threads), loop",
        cv_pairs, median_time(cv2_loop, args.flow_repeats), unit="pairs")
    d0, d1 = jax.device_put((jnp.asarray(f0_NxHxW), jnp.asarray(f1_NxHxW)))
    modes = (False, True) if args.fixed_iterations else (False,)
    for fixed in modes:
      fn = lambda fixed=fixed: flow.tvl1_flow_batch(d0, d1, fixed_iterations=fixed)
      timed = median_time(fn, args.flow_repeats)
      epe = flow_bench._epe(np.asarray(fn())[:cv_pairs], ref_NxHxWx2)  # pylint: disable=protected-access
      mode = "fixed iterations" if fixed else "early stop"
      add("TV-L1 flow (defaults)", f"merjax jnp, jit + vmap {pairs} pairs ({mode})", pairs,
          timed, f"mean EPE vs cv2 {epe:.4f} px", unit="pairs")
  if args.stage_clips:
    rows += stage_rows(args)
  return rows


STAGE_MODALITIES = ("apex", "onset_apex_diff", "dynamic_image", "mesti", "di_onset", "di_offset",
                    "flow_strain")


def stage_rows(args) -> list[dict]:
  """The whole modality stage (stage.compute_modalities, every seed system's image
  modality) over a synthetic dataset of `--stage-clips` in-memory clips of 60-70
  frames at `--size`: the first pass (compiles) and a second one."""
  from merjax.data import synthetic  # pylint: disable=import-outside-toplevel
  from merjax.modalities import stage  # pylint: disable=import-outside-toplevel
  per_subject = -(-args.stage_clips // 26)
  clips = synthetic.load(num_subjects=26, clips_per_subject=per_subject, size=args.size,
                         min_frames=60, max_frames=70)[:args.stage_clips]
  cfg = stage.resolve_preprocess({"batch_size": args.stage_batch})
  times = []
  for _ in range(2):
    t0 = time.perf_counter()
    out = stage.compute_modalities(clips, STAGE_MODALITIES, cfg)
    times.append(time.perf_counter() - t0)
  frames = sum(c.num_frames for c in clips)
  return [dict(kernel=f"whole stage: {len(STAGE_MODALITIES)} modalities",
               impl=f"merjax stage, batches of {args.stage_batch} ({frames} frames in all)",
               items=len(clips), first=times[0], median=times[1],
               check=f"{len(out)} arrays; second pass {times[1]:.1f} s", unit="clips")]


def markdown(rows: list[dict]) -> str:
  """The rows as a Markdown table; speed-up against the first row of each kernel."""
  lines = ["| kernel | implementation | items | first call (s) | items/s | ms per item "
           "| vs OpenCV/numpy | check |", "|---|---|---:|---:|---:|---:|---:|---|"]
  base = {}
  for r in rows:
    per_s = r["items"] / r["median"]
    base.setdefault(r["kernel"], per_s)
    lines.append(f"| {r['kernel']} | {r['impl']} | {r['items']} {r['unit']} | {r['first']:.2f} "
                 f"| {per_s:,.1f} | {1000 / per_s:.2f} | {per_s / base[r['kernel']]:.2f}x "
                 f"| {r['check'] or '-'} |")
  return "\n".join(lines) + "\n"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--clips", type=int, default=256)
  parser.add_argument("--frames", type=int, default=64)
  parser.add_argument("--size", type=int, default=128)
  parser.add_argument("--channels", type=int, default=3)
  parser.add_argument("--repeats", type=int, default=5, help="timed calls per row (median)")
  parser.add_argument("--flow-pairs", type=int, default=None,
                      help="TV-L1 pairs (default: one per clip; 0 skips TV-L1)")
  parser.add_argument("--flow-repeats", type=int, default=3)
  parser.add_argument("--cv2-pairs", type=int, default=None,
                      help="OpenCV times only the first N TV-L1 pairs (default: all)")
  parser.add_argument("--stage-clips", type=int, default=0,
                      help="also time the whole modality stage on N synthetic clips (e.g. 255)")
  parser.add_argument("--stage-batch", type=int, default=64, help="the stage's batch_size")
  parser.add_argument("--fixed-iterations", action="store_true",
                      help="also time TV-L1 with fixed iterations (about 10x slower)")
  parser.add_argument("--device-note", default="", help="free text for the header line")
  args = parser.parse_args(argv)

  load_before = _load()
  rows = bench_rows(args)
  dev = jax.devices()[0]
  print(f"# {args.clips} clips x {args.frames} frames x {args.size}x{args.size}x{args.channels}; "
        f"device {dev.platform} ({dev.device_kind}, {platform.machine()}, {os.cpu_count()} cpu)"
        + (f", {args.device_note}" if args.device_note else "")
        + f"; jax {jax.__version__}; median of {args.repeats} (TV-L1: {args.flow_repeats}) "
        f"after a warm-up call; load average (1/5/15 min) before {load_before}, after {_load()}")
  print("# command: python tools/bench_modalities.py " + shlex.join(
      sys.argv[1:] if argv is None else argv))
  print(markdown(rows))
  return 0


if __name__ == "__main__":
  sys.exit(main())
