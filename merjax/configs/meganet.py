"""MESTI-MEGANet (Nguyen et al., arXiv 2509.00056; seed 000) with the paper's training.

Run (one dataset per run, LOSO, pooled Acc / UF1 / UAR; name the class protocol):
  python -m experiments.loso --model meganet --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_3class
  python -m experiments.loso --model meganet --dataset smic data.root=/path/to/SMIC data.protocol=smic_3class
  python -m experiments.loso --model meganet --dataset samm data.root=/path/to/SAMM data.protocol=samm_3class
  python -m experiments.loso --model meganet --dataset synthetic        # no data needed
  python -m experiments.describe --model meganet --num-classes 3
Paper (§III-B, §III-C4): MESTI (Eq. 4-5) of onset..offset, RGB 224 x 224; face crop,
histogram equalisation, resize; focal loss; Adam lr 1e-3, weight decay 1e-4; 50 epochs;
horizontal flip and rotations of +-5 and +-10 deg; SMIC apex = middle frame; LOSO.
Ours (the paper leaves open; docs/mesti.md):
- batch size 32; focal gamma 2, alpha 1 (one scalar, no class weights);
- augmentation on the fly: flip with probability 1/2, angle drawn uniformly from
  {0, -10, -5, 5, 10} per sample per step (the paper's offline copies read as this);
- "adam" = PyTorch Adam (decay as L2 on the gradient); last epoch, no model selection;
- face crop off (needs Haar cascade files; the datasets' cropped releases are used);
- MEGANet's open fields as docs/meganet.md (widths 64/128/256, strides 1/2/2, ...).
"""

from merjax.configs import common

SIZE = 224


def mesti_training(config, size: int = SIZE, grayscale: bool = False):
  """The paper's input and training (§III-C4), shared by every MESTI-paper config."""
  config["data"]["inputs"] = {"image": "mesti"}
  config["data"]["preprocess"].update(size=size, grayscale=grayscale, equalize=True,
                                      face_pipeline="align", apex_method="annotated",
                                      normalize="minmax")
  config["train"].update(
      epochs=50, batch_size=32,
      optimizer={"name": "adam", "learning_rate": 1e-3, "weight_decay": 1e-4},
      loss={"name": "focal", "gamma": 2.0, "alpha": 1.0},
      augment={"flip": True, "rotate_deg": [-10.0, -5.0, 5.0, 10.0]},
      selection={"rule": "last", "val_subjects": 1, "patience": 10})
  return config


def get_config():
  config = common.base_config()
  config["model"] = {
      "name": "meganet", "num_blocks": 3, "widths": (64, 128, 256, 512),
      "strides": (1, 2, 2, 2), "attention_impl": "plain",
      "use_gradient_attention": True, "use_residual": True, "use_self_attention": True,
  }
  config["data"]["synthetic"] = {"num_classes": 3}
  return mesti_training(config)


# --- shared by the mesti_table<N> modules --------------------------------------

# Label protocols (merjax/data/labels.py) of the paper's class sets, by dataset.
PROTOCOLS_3CLASS = {"casme2": "casme2_3class", "smic": "smic_3class", "samm": "samm_3class"}
PROTOCOLS_5CLASS = {"casme2": "casme2_5class", "samm": "samm_5class_mesti"}

# Seconds-long smoke runs: 3 synthetic subjects x 4 clips of 6-8 frames, read at
# 16 x 16, 1 epoch, tiny widths per model (by each row's base config). The class
# count stays the row's (3, or 5 where the row says so).
TINY = {
    "*": ["data.synthetic.num_subjects=3", "data.synthetic.clips_per_subject=4",
          "data.synthetic.size=32", "data.synthetic.min_frames=6",
          "data.synthetic.max_frames=8", "data.preprocess.size=16", "train.epochs=1",
          "train.batch_size=4", "train.eval_batch_size=4"],
    "meganet": ["model.widths=[8, 16, 32, 64]"],
    "vgg19": ['model.config=[8, "M", 16, "M", 16, "M"]', "model.hidden=16"],
    "resnet50": ["model.stage_sizes=[1, 1, 1, 1]", "model.widths=[4, 8, 8, 8]"],
    "efficientnet_b0": ['model.blocks=[["mbconv", 1, 3, 1, 8, 8, 1], '
                        '["mbconv", 6, 3, 2, 8, 16, 1]]', "model.last_channel=32"],
    "micro_attention": ["model.widths=[8, 16, 16, 16]"],
}


def scores(prefix: str, uf1=None, uar=None, acc=None) -> dict:
  """The paper's UF1, UAR, Acc (fractions) of one dataset -> {"<prefix>/uf1": ...}."""
  return {f"{prefix}/uf1": uf1, f"{prefix}/uar": uar, f"{prefix}/acc": acc}
