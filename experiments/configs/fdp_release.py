"""FDP as the authors' released code trains it (`CYF-cuber/FDP` train.py / data.py).

Run:
  python -m experiments.loso --model fdp_release --dataset synthetic
  python -m experiments.loso --model fdp_release --dataset samm data.root=/path/to/samm data.protocol=samm_5class_fdp train.epochs=100
Release: 8 grey 64 x 64 frames at step len // 8 from the first frame, no augmentation; Adam
lr 1e-4 with (coupled L2) weight decay 1e-3, batch 36; L = CE + 100 MSE(DI) (no rank term);
stops after 500 optimizer steps in total; keeps the model with the best TEST accuracy.
Network: merjax/models/fdp_release.py. Ours:
- 500 steps = `train.epochs` x ceil(n_train / 36): 71 epochs for CASME II 5 classes (~245
  training clips: 7 steps), 100 for SAMM (~153: 5 steps); `release_epochs(n_train)` computes it;
- selection "last" by default; the release's best-test-accuracy checkpoint is
  `train.selection.rule=oracle` (labelled ORACLE in every report);
- inputs in [0, 1]: the release's (x - 0.5) / 0.5 then per-split global mean / max scaling
  (the test split with its own statistics) is not reproduced;
- the DI target is the harmonic dynamic image computed on device from the batch frames (the
  release precomputes the same from the same 8 frames and rounds it to uint8).
"""

import math

from experiments.configs import common

SIZE, T, BATCH, STEPS = 64, 8, 36, 500


def release_epochs(n_train: int, batch: int = BATCH, steps: int = STEPS) -> int:
  """Epochs whose optimizer steps come closest to the release's `steps` (ceil(n / batch) each)."""
  return max(1, round(steps / math.ceil(n_train / batch)))


def get_config():
  config = common.base_config()
  config["model"] = {"name": "fdp_release", "input_shapes": {"frames": (T, SIZE, SIZE, 1)}}
  config["data"]["inputs"] = {"frames": "frames"}
  config["data"]["preprocess"].update(size=SIZE, grayscale=True, num_frames=T,
                                      temporal_mode="fdp")
  config["train"].update(
      epochs=release_epochs(245), batch_size=BATCH,
      optimizer={"name": "adam", "learning_rate": 1e-4, "weight_decay": 1e-3},
      loss={"name": "fdp", "lambda_d": 100.0, "lambda_r": 0.0},
      augment={}, selection={"rule": "last", "val_subjects": 1, "patience": 10},
      eval_batch_size=48)
  return config
