"""Real photographs shipped in scikit-image's wheel, and their dlib landmarks."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def astronaut():
  """uint8 512 x 512 x 3: skimage.data.astronaut() (one frontal face)."""
  from skimage import data
  return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def coffee():
  """uint8 400 x 600 x 3: skimage.data.coffee() (no face)."""
  from skimage import data
  return np.ascontiguousarray(data.coffee())


@pytest.fixture(scope="session")
def astronaut_68(astronaut):
  """dlib's 68 landmarks of the astronaut."""
  from merjax import faces
  return faces.detect_landmarks(astronaut)


def similar(image, angle_deg, scale, shift, centre=(225.0, 125.0)):
  """(image rotated by angle_deg about `centre`, scaled and shifted (cv2
  getRotationMatrix2D convention), the 2 x 3 map applied), same size, edges
  replicated."""
  import cv2
  A = cv2.getRotationMatrix2D(centre, angle_deg, scale)
  A[:, 2] += shift
  out = cv2.warpAffine(image, A, image.shape[1::-1], flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
  return out, A
