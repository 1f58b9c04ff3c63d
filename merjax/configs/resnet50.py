"""ResNet50 (torchvision Bottleneck 3/4/6/3; 23.5M parameters at 5 classes) as a MESTI-paper baseline, with the paper's training.

Run:
  python -m experiments.loso --model resnet50 --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_5class
  python -m experiments.loso --model resnet50 --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_5class data.folds=split data.test_fraction=0.1
  python -m experiments.loso --model resnet50 --dataset synthetic        # no data needed
  python -m experiments.describe --model resnet50
Used in Table I (90/10 split). Training as merjax/configs/meganet.py (focal loss, Adam 1e-3 / 1e-4,
50 epochs, batch 32, flip + rotations of +-5 / +-10 deg, last epoch); MESTI RGB 224 x 224,
equalised. From scratch by default: the paper does not say whether ImageNet weights were used
(docs/mesti.md). To fine-tune from ImageNet weights (docs/weights.md):
  model.pretrained=/path/to/resnet50.pth model.input_norm=imagenet data.standardize=false
  [train.optimizer.backbone_lr_scale=0.1]
(torchvision layout; the head stays fresh; the file's sha256 goes into config.json).
"""

from merjax.configs import common
from merjax.configs.meganet import mesti_training


def get_config():
  config = common.base_config()
  config["model"] = {"name": "resnet50"}
  return mesti_training(config)
