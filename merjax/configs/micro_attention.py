"""Micro-Attention (Wang et al. 2020, official Caffe structure) on MESTI, as MESTI Table II.

Run:
  python -m experiments.loso --model micro_attention --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_5class
  python -m experiments.loso --model micro_attention --dataset samm data.root=/path/to/SAMM data.protocol=samm_5class_mesti
  python -m experiments.loso --model micro_attention --dataset synthetic   # no data needed
  python -m experiments.describe --model micro_attention                   # 5,945,799 params
The official network: 1-channel grey 224 x 224 input, conv1 with its Caffe bias
(`stem_conv_bias=True`, 5,945,799 parameters at 5 classes). The MESTI paper says it trained
"in the same manner" as the original study, which it does not restate; the original Caffe
solver is not public (the prototxt is: batch 10, resize 240 + random crop 224, ImageNet /
macro-expression pre-training). We use the MESTI paper's training (merjax/configs/
meganet.py) on a grey MESTI, from scratch; docs/mesti.md.
"""

from merjax.configs import common
from merjax.configs.meganet import mesti_training


def get_config():
  config = common.base_config()
  config["model"] = {"name": "micro_attention", "stem_conv_bias": True}
  return mesti_training(config, grayscale=True)
