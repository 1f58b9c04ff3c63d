"""FDP as the authors' released code trains it (`CYF-cuber/FDP` train.py / data.py).

Run:
  python -m experiments.loso --model fdp_release --dataset synthetic
  python -m experiments.loso --model fdp_release --dataset samm data.root=/path/to/samm data.protocol=samm_5class_fdp
Release: 8 grey 64 x 64 frames at step len // 8 from the first frame, no augmentation; Adam
lr 1e-4 with (coupled L2) weight decay 1e-3, batch 36; L = CE + 100 MSE(DI) (no rank term);
stops after 500 optimizer steps in total; keeps the model with the best TEST accuracy.
Network: merjax/models/fdp_release.py. Ours:
- the 500 steps are `train.total_steps=500`: every fold stops after its 500th optimizer step,
  mid-epoch if need be (about 71 epochs for CASME II 5 classes, 100 for SAMM);
- selection "last" by default; the release's best-test-accuracy checkpoint is
  `train.selection.rule=oracle` (labelled ORACLE in every report);
- inputs in [0, 1]: the release's (x - 0.5) / 0.5 then per-split global mean / max scaling
  (the test split with its own statistics) is not reproduced;
- the DI target is the harmonic dynamic image computed on device from the batch frames (the
  release precomputes the same from the same 8 frames and rounds it to uint8).
"""

from merjax.configs import common

SIZE, T, BATCH, STEPS = 64, 8, 36, 500


def get_config():
  config = common.base_config()
  config["model"] = {"name": "fdp_release"}
  config["data"]["inputs"] = {"frames": "frames"}
  config["data"]["preprocess"].update(size=SIZE, grayscale=True, num_frames=T,
                                      temporal_mode="fdp",
                                      face_pipeline="fdp_release")  # the release's dlib recipe
  config["train"].update(
      total_steps=STEPS, batch_size=BATCH,
      optimizer={"name": "adam", "learning_rate": 1e-4, "weight_decay": 1e-3},
      loss={"name": "fdp", "lambda_d": 100.0, "lambda_r": 0.0},
      augment={}, selection={"rule": "last", "val_subjects": 1, "patience": 10},
      eval_batch_size=48)
  return config
