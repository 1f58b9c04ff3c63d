"""Frames per second of face detection and alignment on this CPU (merjax.faces).

  python tools/bench_faces.py --repeats 20 --device-note "2-core x86_64 CPU, shared"

Frames: skimage's astronaut in grey on canvases of CASME II raw (640 x 480) and
SAMM (960 x 650) size. Rows (Markdown, for docs/benchmarks.md):
  detect        detect_landmarks: dlib HOG (on a copy at most 640 px) + 68 points
  detect upright  the align step's reference: detect, turn upright, detect again
  fdp_release   FDP's per-frame detection: HOG with one upsampling on the full frame
  track         the shape predictor alone inside a known box (per frame of `mean`)
  warp 128 / 64 warp_frames of one frame to the aligned size
  align clip    align_clip of a 30-frame clip (onset reference): frames / s
  mediapipe     face mesh (468 points), only when mediapipe is installed
Each figure is the median over `--repeats` calls after one warm-up call. The load
average before and after is printed: on a shared CPU the figures are only as
quiet as the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from merjax.faces import align, detector  # noqa: E402
from merjax.faces import testing as face_testing  # noqa: E402


def timed(fn, repeats: int) -> float:
  """Median seconds of fn() over `repeats` calls after one warm-up call."""
  fn()
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t)
  return float(np.median(times))


def rows(repeats: int, clip_frames: int = 30):
  """[(what, frame size, frames per second)]."""
  out = []
  det = detector.get_detector("dlib")
  for hw in ((480, 640), (650, 960)):
    frame = face_testing.face_canvas(hw)[..., None]
    size = f"{hw[1]}x{hw[0]}"
    lm = detector.detect_landmarks(frame)
    if lm is None:
      raise SystemExit(f"no face found on the {size} canvas")
    box = det.boxes(frame)[0]
    out.append(("detect (dlib HOG + 68 points)", size,
                1 / timed(lambda f=frame: detector.detect_landmarks(f), repeats)))
    out.append(("detect upright (align's reference)", size,
                1 / timed(lambda f=frame: align.frame_landmarks(f), repeats)))
    out.append(("fdp_release per frame (upsample 1, full frame)", size,
                1 / timed(lambda f=frame: align.fdp_frame_landmarks(f), max(repeats // 4, 1))))
    out.append(("track (68 points in a known box)", size,
                1 / timed(lambda f=frame, b=box: det.landmarks_in_box(f, b), repeats)))
    M = align.align_transform(lm, 128)
    for S in (128, 64):
      out.append((f"warp to {S} x {S}", size,
                  1 / timed(lambda f=frame, S=S, M=M: align.warp_frames(f[None], M, S), repeats)))
    clip = np.repeat(frame[None], clip_frames, 0)
    t = timed(lambda c=clip: align.align_clip(c, size=128), max(repeats // 4, 1))
    out.append((f"align clip ({clip_frames} frames, onset reference)", size, clip_frames / t))
    if detector.available("mediapipe"):
      out.append(("mediapipe face mesh (468 points)", size,
                  1 / timed(lambda f=frame: detector.detect_landmarks(f, "mediapipe"), repeats)))
  return out


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--repeats", type=int, default=20)
  p.add_argument("--clip-frames", type=int, default=30)
  p.add_argument("--device-note", default="")
  args = p.parse_args(argv)
  load0 = os.getloadavg()
  table = rows(args.repeats, args.clip_frames)
  load1 = os.getloadavg()
  print(f"{platform.machine()} {os.cpu_count()} CPUs {args.device_note}; dlib "
        f"{detector.get_detector('dlib').version}; load {load0[0]:.2f} -> {load1[0]:.2f}")
  print("| step | frame | frames / s |")
  print("|---|---|---:|")
  for what, size, fps in table:
    print(f"| {what} | {size} | {fps:.1f} |")
  return 0


if __name__ == "__main__":
  sys.exit(main())
