"""LBP-TOP + linear SVM, the hand-crafted baseline of every MER table (docs/baselines.md).

Run:
  python -m experiments.loso --model lbp_top --dataset synthetic
  python -m experiments.loso --model lbp_top --dataset casme2 data.root=/path/to/casme2
Features: uniform LBP on the XY, XT and YT planes (Zhao & Pietikainen 2007), radius
(Rx, Ry, Rt) = (1, 1, 2), 8 neighbours per plane, a 5 x 5 x 1 block grid,
5 x 5 x 3 x 59 = 4425 features per clip; computed once per clip on the grey onset..offset
segment resampled to 16 frames at 64 x 64. Classifier: features standardised on the
training clips of each fold, one LinearSVC per fold, C = 1, on the training subjects only
(deterministic: train.seed is recorded, seeds change nothing).
"""

from merjax.configs import common


def get_config():
  config = common.base_config()
  config["model"] = {"name": "lbp_top", "radius": [1, 1, 2], "neighbours": [8, 8, 8],
                     "grid": [5, 5, 1], "mapping": "uniform",
                     "C": 1.0, "class_weight": None, "max_iter": 10000}
  config["data"]["inputs"] = {"image": "frames"}        # the grey volume (role name: any)
  config["data"]["standardize"] = True   # per fold, training clips' mean and std
  config["data"]["preprocess"].update(size=64, grayscale=True, frames_T=16)
  config["train"].update(augment={}, save_final=False, checkpoint_every=0)
  return config


# A seconds-long run (tests): 6 subjects x 12 clips of 3 classes, 8 frames at 32 x 32.
QUICK = ["data.synthetic.num_subjects=6", "data.synthetic.clips_per_subject=12",
         "data.synthetic.num_classes=3", "data.synthetic.size=48",
         "data.synthetic.min_frames=10", "data.synthetic.max_frames=14",
         "data.preprocess.size=32", "data.preprocess.frames_T=8", "model.grid=[4,4,1]"]
