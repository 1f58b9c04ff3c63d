"""Face landmark detectors whose models ship inside registry packages.

dlib (default; the `faces` extra: dlib-bin + face-recognition-models): dlib's HOG
frontal face detector (built into dlib) and its 68-point shape predictor
(`shape_predictor_68_face_landmarks.dat`, the file FDP's release uses), read from
the face-recognition-models package. MediaPipe (optional, `pip install
mediapipe==0.10.14`; it installs a second OpenCV distribution, docs/faces.md): the
legacy face-mesh solution, 468 points, models bundled in its wheel.

Nothing is ever downloaded: a missing package is a MerjaxError saying what to
install. Both are imported lazily, so merjax works without them.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np

from merjax.errors import MerjaxError

DETECTORS = ("dlib", "mediapipe")
INSTALL = 'pip install -e ".[faces]"  (dlib-bin, face-recognition-models)'
# Detection runs on a copy whose longer side is at most this (HOG needs faces of
# >= 80 px; MER faces are 200-500 px), the landmarks on the full frame.
DETECT_MAX_SIDE = 640


def as_uint8(image_HxWxC) -> np.ndarray:
  """uint8 H x W (grey) or H x W x 3 from uint8 / float-in-[0, 1] H x W, H x W x 1,
  H x W x 3."""
  im = np.asarray(image_HxWxC)
  if im.dtype != np.uint8:
    if not np.issubdtype(im.dtype, np.floating):
      raise MerjaxError(f"image: dtype {im.dtype} is not uint8 or float")
    im = np.clip(np.round(im * 255.0), 0, 255).astype(np.uint8)
  if im.ndim == 3 and im.shape[-1] == 1:
    im = im[..., 0]
  if im.ndim == 3 and im.shape[-1] == 4:
    im = im[..., :3]
  if im.ndim not in (2, 3) or (im.ndim == 3 and im.shape[-1] != 3):
    raise MerjaxError(f"image: shape {im.shape} is not H x W, H x W x 1 or H x W x 3")
  return np.ascontiguousarray(im)


class DlibDetector:
  """dlib HOG face boxes + the 68-point shape predictor (points: 68)."""

  name = "dlib"
  points = 68

  def __init__(self):
    try:
      import dlib  # pylint: disable=import-outside-toplevel
    except ImportError as e:
      raise MerjaxError(f"face detector 'dlib' is not installed: {INSTALL}") from e
    self._dlib = dlib
    path = shape_predictor_path()
    self._detector = dlib.get_frontal_face_detector()
    self._predictor = dlib.shape_predictor(path)
    self.version = f"dlib-{dlib.__version__}/{os.path.basename(path)}-{os.path.getsize(path)}"

  def boxes(self, image_HxWxC, upsample: int | None = None,
            max_side: int | None = DETECT_MAX_SIDE) -> list[tuple[float, float, float, float]]:
    """Face boxes (x0, y0, x1, y1) in full-image pixels, best detection score first.

    upsample None: 0, then 1 when nothing is found. max_side: detect on a copy
    scaled so its longer side is at most this (None: the full image)."""
    im = as_uint8(image_HxWxC)
    scale = 1.0
    if max_side and max(im.shape[:2]) > max_side:
      import cv2  # pylint: disable=import-outside-toplevel
      scale = max_side / max(im.shape[:2])
      im = cv2.resize(im, (round(im.shape[1] * scale), round(im.shape[0] * scale)),
                      interpolation=cv2.INTER_AREA)
    tries = (0, 1) if upsample is None else (int(upsample),)
    for up in tries:
      rects, scores, _ = self._detector.run(im, up, 0.0)
      if len(rects):
        order = np.argsort(-np.asarray(scores), kind="stable")
        return [(rects[i].left() / scale, rects[i].top() / scale,
                 (rects[i].right() + 1) / scale, (rects[i].bottom() + 1) / scale)
                for i in order]
    return []

  def landmarks_in_box(self, image_HxWxC, box) -> np.ndarray:
    """68 x 2 float32 (x, y) of the shape predictor inside `box` (x0, y0, x1, y1)."""
    im = as_uint8(image_HxWxC)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    shape = self._predictor(im, self._dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
    return np.array([[p.x, p.y] for p in shape.parts()], np.float32)

  def __call__(self, image_HxWxC):
    """68 x 2 landmarks of the best-scoring face, or None."""
    boxes = self.boxes(image_HxWxC)
    return self.landmarks_in_box(image_HxWxC, boxes[0]) if boxes else None


class MediaPipeDetector:
  """MediaPipe's legacy face mesh (static images), 468 points."""

  name = "mediapipe"
  points = 468

  def __init__(self):
    try:
      import mediapipe as mp  # pylint: disable=import-outside-toplevel
      mesh = mp.solutions.face_mesh
    except (ImportError, AttributeError) as e:
      raise MerjaxError("face detector 'mediapipe' needs mediapipe 0.10.14 "
                        "(pip install mediapipe==0.10.14; see docs/faces.md)") from e
    self._mesh = mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                               refine_landmarks=False)
    self.version = f"mediapipe-{mp.__version__}/face_mesh"

  def __call__(self, image_HxWxC):
    """468 x 2 float32 landmarks of the face, or None."""
    im = as_uint8(image_HxWxC)
    if im.ndim == 2:
      im = np.repeat(im[..., None], 3, -1)
    found = self._mesh.process(np.ascontiguousarray(im)).multi_face_landmarks
    if not found:
      return None
    h, w = im.shape[:2]
    return np.array([[p.x * w, p.y * h] for p in found[0].landmark], np.float32)


def shape_predictor_path() -> str:
  """Path of shape_predictor_68_face_landmarks.dat inside face-recognition-models
  (found without importing the package, whose __init__ needs pkg_resources)."""
  spec = importlib.util.find_spec("face_recognition_models")
  if spec is None or not spec.submodule_search_locations:
    raise MerjaxError(f"face landmark model not installed (face-recognition-models): {INSTALL}")
  for loc in spec.submodule_search_locations:
    path = os.path.join(loc, "models", "shape_predictor_68_face_landmarks.dat")
    if os.path.isfile(path):
      return path
  raise MerjaxError("face-recognition-models is installed but holds no "
                    "models/shape_predictor_68_face_landmarks.dat; reinstall it")


@functools.cache
def get_detector(name: str = "dlib"):
  """The detector `name` (one instance per process)."""
  if name == "dlib":
    return DlibDetector()
  if name == "mediapipe":
    return MediaPipeDetector()
  raise MerjaxError(f"face detector '{name}' is not one of {', '.join(DETECTORS)}")


def available(name: str = "dlib") -> bool:
  """Whether detector `name` can be built here (its packages are installed)."""
  if name == "dlib":
    return (importlib.util.find_spec("dlib") is not None
            and importlib.util.find_spec("face_recognition_models") is not None)
  if name == "mediapipe":
    return importlib.util.find_spec("mediapipe") is not None
  return False


def detect_landmarks(image_HxWxC, detector: str = "dlib") -> np.ndarray | None:
  """The detector's native landmarks of the (best-scoring) face in one image: float32
  P x 2 (x, y pixels; P = 68 for dlib, 468 for mediapipe), or None when no face."""
  return get_detector(detector)(image_HxWxC)
