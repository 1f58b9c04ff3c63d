"""First vs cached load of a CASME II-sized fixture (255 clips x ~65 frames).

  python tools/bench_data_cache.py [--size 32] [--clips 255] [--frames 65]
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from merjax.data import cache, casme2, testing  # noqa: E402


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--size", type=int, default=32, help="frame side in pixels")
  parser.add_argument("--clips", type=int, default=255)
  parser.add_argument("--frames", type=int, default=65)
  args = parser.parse_args()
  testing.SIZE = args.size
  with tempfile.TemporaryDirectory() as d:
    rows = [(1 + i % 26, f"EP{i:03d}", 10, 10 + args.frames // 2, 9 + args.frames, "4", "others")
            for i in range(args.clips)]
    t = time.perf_counter()
    testing.make_casme2(os.path.join(d, "c"), rows)
    print(f"fixture: {args.clips} clips x {args.frames} frames of {args.size}x{args.size} "
          f"written in {time.perf_counter() - t:.1f} s")
    times = []
    for run in ("first (decode + write)", "cached (read npz)"):
      t = time.perf_counter()
      clips = casme2.load(os.path.join(d, "c"))
      out = cache.cached_clips(clips, root=os.path.join(d, "c"), loader="casme2",
                               cache_dir=os.path.join(d, "cache"), size=(args.size, args.size))
      times.append(time.perf_counter() - t)
      print(f"{run}: {times[-1]:.2f} s ({sum(len(c.frames) for c in out)} frames)")
    size = sum(os.path.getsize(os.path.join(d, "cache", f)) for f in os.listdir(os.path.join(d, "cache")))
    print(f"speed-up {times[0] / times[1]:.1f}x, cache file {size / 2**20:.1f} MiB")


if __name__ == "__main__":
  main()
