"""Faces: landmark detection, alignment, the 68-point view and facial regions.

  detect_landmarks(image_HxWxC, detector="dlib") -> landmarks_Px2 or None
  align_clip(frames_TxHxWxC, **options) -> (aligned_TxSxSxC, transform_2x3)
  to_ibug68(landmarks_Px2) -> landmarks_68x2
  region_masks / region_boxes / grid36 / dc_rois (regions.py)

The detector's packages (the `faces` extra: dlib-bin, face-recognition-models)
are imported only when a detector is built; everything else here needs only
numpy and OpenCV. docs/faces.md has the detector comparison and the recipes.
"""

from merjax.faces.align import (NoFaceError, align_clip, align_transform, apply,
                                fdp_transform, invert, similarity_params, warp_frames)
from merjax.faces.detector import available, detect_landmarks, get_detector
from merjax.faces.ibug68 import MEDIAPIPE_TO_IBUG68, eye_centres, to_ibug68
from merjax.faces.regions import REGIONS, dc_rois, grid36, region_boxes, region_masks

__all__ = ["NoFaceError", "align_clip", "align_transform", "apply", "fdp_transform", "invert",
           "similarity_params", "warp_frames", "available", "detect_landmarks", "get_detector",
           "MEDIAPIPE_TO_IBUG68", "eye_centres", "to_ibug68", "REGIONS", "dc_rois", "grid36",
           "region_boxes", "region_masks"]
