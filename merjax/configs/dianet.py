"""DIANet (Khuong et al. 2025; seed 004) with the paper's training settings.

Run (one dataset per run, LOSO, pooled accuracy = the paper's metric, plus UF1 / UAR):
  python -m experiments.loso --model dianet --dataset casme2 data.root=/path/to/CASME2
  python -m experiments.loso --model dianet --dataset samm data.root=/path/to/SAMM
  python -m experiments.loso --model dianet --dataset mmew data.root=/path/to/MMEW
  python -m experiments.loso --model dianet --dataset synthetic   # no data needed
  python -m experiments.describe --model dianet
Paper (§2, §3.1-3.4): DI-Onset + DI-Offset (Eq. 2-3) at 224 x 224, shared EfficientNetV2
backbone -> 512-d f1, f2, cross-attention fusion, MLP; CE + lambda * consistency (Eq. 5);
Adam lr 1e-4, batch 32, 50 epochs, early stopping on validation loss; horizontal flip +
rotation within +-10 deg; classes with < 10 samples dropped; LOSO; accuracy.
Ours (the paper leaves open; docs/dianet.md):
- lambda = 0.1; validation set = 1 held-out *training* subject per fold, patience 10;
- temporal normalisation to 32 frames (linspace), apex in both phase segments;
- "normalized" = min-max per dynamic image, then per-fold channel standardisation;
- EfficientNetV2-S from scratch (ImageNet weights: `model.pretrained=FILE
  model.input_norm=imagenet data.standardize=false`, every trunk from the file; docs/weights.md);
  attention over spatial tokens.
"""

from merjax.configs import common

SIZE = 224
# Label protocol of merjax/data/labels.py: per dataset, drop classes with < 10 samples
# (CASME II 5, SAMM 5, MMEW 6 classes).
PROTOCOL = "dianet"


def get_config():
  config = common.base_config()
  config["model"] = {
      "name": "dianet",
      "backbone": "efficientnetv2_s", "shared_backbone": True, "streams": 2,
      "feature_dim": 512, "fusion": "cross", "cross_query": "vector", "num_heads": 1,
      "fusion_dim": 512, "mlp_hidden": 256, "dropout": 0.5,
  }
  config["data"].update(
      protocol=PROTOCOL,
      inputs={"di_onset": "di_onset", "di_offset": "di_offset"},
      standardize=True)
  config["data"]["preprocess"].update(size=SIZE, grayscale=False, num_frames=32,
                                      face_pipeline="align",  # ours: the paper has no face step
                                      temporal_mode="linspace", di_apex_in_both=True,
                                      normalize="minmax")
  config["train"].update(
      epochs=50, batch_size=32,
      optimizer={"name": "adam", "learning_rate": 1e-4, "weight_decay": 0.0},
      loss={"name": "dianet", "consistency_weight": 0.1},
      augment={"flip": True, "rotate_deg": 10.0},
      selection={"rule": "inner_val", "val_subjects": 1, "patience": 10})
  return config


# --- shared by the dianet_table<N> modules ------------------------------------

# Accuracy per dataset (the paper's columns; one dataset per run, so only that run's
# column fills), then the run's pooled accuracy, UF1 and UAR.
COLUMNS = ("casme2/acc", "samm/acc", "mmew/acc", "acc", "uf1", "uar")

# DIANet's own numbers (Tables 1-4: EfficientNetV2, cross attention, DI-Onset + DI-Offset).
PAPER_DIANET = (0.7000, 0.6889, 0.6424)

# Small trunks for seconds-long smoke runs, one per backbone (Table 2 rows stay distinct).
TINY_BACKBONES = {
    "resnet18": {"stage_sizes": (1, 1, 1, 1), "widths": (8, 16, 16, 16)},
    "efficientnetv2_s": {"blocks": (("fused", 1, 3, 1, 8, 8, 1), ("fused", 2, 3, 2, 8, 16, 1),
                                    ("mbconv", 2, 3, 2, 16, 16, 1)), "last_channel": 32},
    "convnext_tiny": {"depths": (1, 1, 1), "dims": (8, 16, 16)},   # /16: 1 x 1 at 16 x 16
    "mobilevit_s": {"stages": ((8, 1, 1, None, 0), (16, 2, 1, None, 0), (16, 2, 1, 16, 1),
                               (16, 2, 1, 16, 1), (16, 2, 1, 16, 1)),
                    "stem_channels": 8, "num_features": 32},
}

# 3 synthetic subjects x 4 clips of 6-8 frames read at 16 x 16, 1 epoch, tiny trunks and
# widths (every label, since 4 clips per class fall below the dianet protocol's 10).
TINY = ["data.dataset=synthetic", "data.protocol=None",
        "data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=4",
        "data.synthetic.size=32", "data.synthetic.min_frames=6",
        "data.synthetic.max_frames=8", "data.synthetic.num_classes=3",
        "data.preprocess.size=16", "data.preprocess.num_frames=8",
        "train.epochs=1", "train.batch_size=4", "train.eval_batch_size=4",
        "model.feature_dim=16", "model.fusion_dim=16", "model.mlp_hidden=16",
        f"model.backbone_options={TINY_BACKBONES!r}"]


def paper_acc(casme2=None, samm=None, mmew=None):
  """The paper's accuracies (fractions) -> {column: value}."""
  return {"casme2/acc": casme2, "samm/acc": samm, "mmew/acc": mmew}


def one_stream(modality: str) -> list[str]:
  """Overrides for a single-stream DIANet on `modality` (Table 4 rows 1-3)."""
  return ["model.streams=1", f'data.inputs={{"image": "{modality}"}}',
          'train.loss={"name": "cross_entropy"}']
