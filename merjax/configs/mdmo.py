"""MDMO + linear SVM (Liu et al. 2016), a hand-crafted optical-flow baseline (docs/baselines.md).

Run:
  python -m experiments.loso --model mdmo --dataset synthetic
  python -m experiments.loso --model mdmo --dataset synthetic \
      model.flow=onset_apex data.modality=flow_onset_apex       # one flow field per clip
Features: per flow field and ROI, the mean magnitude and angle of the vectors in the most
populated of 8 orientation bins, averaged over the clip's flow fields, magnitudes divided by
their largest ROI value: 36 x 2 = 72 features. ROIs: a fixed 6 x 6 grid over the frame
(not the paper's 36 landmark ROIs: merjax/faces/regions.py does not reproduce their
polygons; with data.preprocess.face_pipeline=align the grid lies over the aligned face).
Flow: TV-L1 (merjax.modalities.flow) from the onset to each of the 8 frames sampled over
onset..offset (model.flow=onset; `consecutive`: frame to frame), grey 64 x 64, cached.
Features standardised per fold on the training clips (data.standardize); one LinearSVC
per fold, C = 1 (deterministic).
"""

from merjax.configs import common


def get_config():
  config = common.base_config()
  config["model"] = {"name": "mdmo", "grid": [6, 6], "bins": 8, "flow": "onset",
                     "normalize_magnitude": True,
                     "C": 1.0, "class_weight": None, "max_iter": 10000}
  config["data"]["inputs"] = {"image": "frames"}
  config["data"]["standardize"] = True
  # flow_normalize=none: raw pixels for model.flow=onset_apex (flow_onset_apex modality).
  config["data"]["preprocess"].update(size=64, grayscale=True, frames_T=8,
                                      flow_normalize="none")
  config["train"].update(augment={}, save_final=False, checkpoint_every=0)
  return config


# A short run (tests): 6 subjects x 6 clips, one onset->apex flow field at 32 x 32.
QUICK = ["data.synthetic.num_subjects=6", "data.synthetic.clips_per_subject=6",
         "data.synthetic.num_classes=3", "data.synthetic.size=48",
         "data.synthetic.min_frames=10", "data.synthetic.max_frames=14",
         "data.preprocess.size=32", "model.flow=onset_apex", "data.modality=flow_onset_apex"]
