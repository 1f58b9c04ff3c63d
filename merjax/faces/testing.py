"""A SAMM-layout dataset copy built from a real photograph (scikit-image's astronaut).

`make_samm_faces(root)` writes the FACS-codes sheet (merjax.data.testing's SAMM
format) and grey JPEG frames `SAMM/006/006_1_2/006_00100.jpg`: the astronaut's
face on a SAMM-sized canvas, with a sub-pixel head drift and a small brow raise
peaking at the apex; clips named in `no_face` show a photograph without a face
(skimage's coffee) instead. Needs scikit-image (in the faces extra).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from merjax.data import testing

# (subject, filename, onset, apex, offset, action units, emotion)
FACE_ROWS = (
    (6, "006_1_2", 100, 104, 108, "4+7", "Anger"),
    (6, "006_1_3", 200, 203, 207, "12", "Happiness"),
    (7, "007_3_1", 300, 303, 306, "14", "Contempt"),
    (7, "007_5_3", 400, 402, 405, "1+2", "Surprise"),
)
SAMM_HW = (650, 960)


def face_canvas(shape_hw=SAMM_HW) -> np.ndarray:
  """uint8 H x W grey: the astronaut photograph scaled to the canvas height,
  centred, the sides mid grey."""
  import cv2  # pylint: disable=import-outside-toplevel
  from skimage import data  # pylint: disable=import-outside-toplevel
  H, W = shape_hw
  grey = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
  side = min(H, W)
  grey = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA if side < 512
                    else cv2.INTER_CUBIC)
  out = np.full((H, W), 128, np.uint8)
  y0, x0 = (H - side) // 2, (W - side) // 2
  out[y0:y0 + side, x0:x0 + side] = grey
  return out


def no_face_canvas(shape_hw=SAMM_HW) -> np.ndarray:
  """uint8 H x W grey photograph without a face (skimage's coffee)."""
  import cv2  # pylint: disable=import-outside-toplevel
  from skimage import data  # pylint: disable=import-outside-toplevel
  H, W = shape_hw
  return cv2.resize(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2GRAY), (W, H),
                    interpolation=cv2.INTER_AREA)


def expression_frames(base_HxW: np.ndarray, n: int, apex: int, drift_px: float = 0.3,
                      raise_px: float = 1.5) -> np.ndarray:
  """uint8 n x H x W: `base` with a sub-pixel drift (drift_px * t / n in x and
  half that in y) and an upward displacement of the upper face (a smooth bump
  over the brows of the astronaut's face, raise_px at the apex, 0 at the ends)."""
  import cv2  # pylint: disable=import-outside-toplevel
  H, W = base_HxW.shape
  yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
  side = min(H, W)
  cx, cy = (W - side) / 2 + 0.44 * side, (H - side) / 2 + 0.17 * side   # brow centre
  bump = np.exp(-(((xx - cx) / (0.12 * side)) ** 2 + ((yy - cy) / (0.05 * side)) ** 2))
  out = []
  for t in range(n):
    amp = raise_px * (t / apex if t <= apex else (n - 1 - t) / max(n - 1 - apex, 1))
    dx, dy = drift_px * t / n, 0.5 * drift_px * t / n
    mx, my = xx - dx, yy - dy + amp * bump
    out.append(cv2.remap(base_HxW, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
  return np.stack(out)


def make_samm_faces(root: str, rows: Sequence[tuple] = FACE_ROWS, shape_hw=SAMM_HW,
                    no_face: Sequence[str] = ()) -> str:
  """A SAMM copy (sheet + `SAMM/<subject>/<clip>/<subject>_<frame:05d>.jpg`) whose
  frames are a real face (clips in `no_face`: a photograph without one)."""
  import cv2  # pylint: disable=import-outside-toplevel
  testing.write_xlsx(os.path.join(root, "SAMM_Micro_FACS_Codes_v2.xlsx"),
                     {"MICRO_ONLY": testing.samm_sheet_rows(rows)})
  face, other = face_canvas(shape_hw), None
  for s, f, on, ap, off, _aus, _emo in rows:
    if f in no_face:
      other = no_face_canvas(shape_hw) if other is None else other
      frames = np.repeat(other[None], off - on + 1, 0)
    else:
      frames = expression_frames(face, off - on + 1, ap - on)
    folder = os.path.join(root, "SAMM", f"{s:03d}", f)
    os.makedirs(folder, exist_ok=True)
    for k, n in enumerate(testing.frame_range(on, off)):
      path = os.path.join(folder, f"{s:03d}_{n:05d}.jpg")
      if not cv2.imwrite(path, frames[k], [cv2.IMWRITE_JPEG_QUALITY, 95]):
        raise OSError(f"could not write {path}")
  return root
