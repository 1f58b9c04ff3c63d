"""EfficientNet-B0 (torchvision; 4.0M parameters at 5 classes) as a MESTI-paper baseline, with the paper's training.

Run:
  python -m experiments.loso --model efficientnet_b0 --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_5class
  python -m experiments.loso --model efficientnet_b0 --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_5class data.folds=split data.test_fraction=0.1
  python -m experiments.loso --model efficientnet_b0 --dataset synthetic        # no data needed
  python -m experiments.describe --model efficientnet_b0
Used in Table I (90/10 split). Training as merjax/configs/meganet.py (focal loss, Adam 1e-3 / 1e-4,
50 epochs, batch 32, flip + rotations of +-5 / +-10 deg, last epoch); MESTI RGB 224 x 224,
equalised. From scratch by default: the paper does not say whether ImageNet weights were used
(docs/mesti.md). To fine-tune from ImageNet weights (docs/weights.md):
  model.pretrained=/path/to/efficientnet_b0.pth model.input_norm=imagenet data.standardize=false
  [train.optimizer.backbone_lr_scale=0.1]
(torchvision layout; the head stays fresh; the file's sha256 goes into config.json).
"""

from merjax.configs import common
from merjax.configs.meganet import mesti_training


def get_config():
  config = common.base_config()
  config["model"] = {"name": "efficientnet_b0"}
  return mesti_training(config)
