"""DFR-Net Table 5: the module after the fusion, UF1 / UAR on the composite (cost: experiments.profile).

Run:
  python -m experiments.table --paper dfrnet --table 5 --dataset megc2019 data.root=/path/to/megc2019
  python -m experiments.table --paper dfrnet --table 5 --tiny
AlexNet / VGG / Inception / ViT are small versions of our own (docs/dfrnet.md §4).
The paper's ResNet row has no attention (it equals Table 6 "None").
"""

from merjax.configs.dfrnet import TINY  # noqa: F401

TITLE = "DFR-Net Table 5: module after the feature fusion (MEGC2019 composite, LOSO)"
BASE = "dfrnet"
COLUMNS = ("uf1", "uar")
ROWS = [
    ("AlexNet", ["model.module=alexnet"], {"uf1": 0.6269, "uar": 0.6142}),
    ("VGG", ["model.module=vgg"], {"uf1": 0.6741, "uar": 0.6399}),
    ("Inception", ["model.module=inception"], {"uf1": 0.6811, "uar": 0.6469}),
    ("ResNet (no attention)", ["model.attention=none"], {"uf1": 0.7333, "uar": 0.6991}),
    ("ViT", ["model.module=vit"], {"uf1": 0.7877, "uar": 0.7418}),
]
