"""FDP Table 10: frame-encoder backbones on SAMM, five categories, LOSO, Acc / F1.

Run:
  python -m experiments.table --paper fdp --table 10 data.root=/path/to/samm
  python -m experiments.table --paper fdp --table 10 --tiny         # synthetic smoke run
The three "Ours" rows swap the relational aggregators' multi-head convolution
(`model.conv_mode`, merjax/models/fdp.py): C* = "multihead" (h grouped heads + BN + ReLU +
pointwise, the default), C' = "single" (one head: conv + BN + ReLU + pointwise), C = "vanilla"
(one dense 3x3 conv). NOT IMPLEMENTED (paper-only rows): ViT-Base and ResNet18 as the FDP frame
encoder. Parameter counts (5 classes, 64 x 64 x 3, T = 8; `python -m experiments.describe`):
ours do not reproduce the paper's 14.82M / 27.14M / 28.71M (docs/fdp.md §2).
F1 = our pooled macro F1 (UF1); see fdp_table4.py.
"""

from merjax.configs.fdp import TINY, on, pct  # noqa: F401

TITLE = "FDP Table 10: backbones, SAMM five categories (LOSO), Acc and F1"
BASE = "fdp"
COLUMNS = ("acc", "uf1")
SAMM = on("samm", 5)
ROWS = [
    ("ViT-Base (T) [not implemented]", None, pct(acc=70.58, uf1=67.24)),
    ("Ours C+T (vanilla conv)", SAMM + ["model.conv_mode=vanilla"], pct(acc=79.82, uf1=74.46)),
    ("Ours C'+T (conv+BN+ReLU+pointwise)", SAMM + ["model.conv_mode=single"],
     pct(acc=83.93, uf1=79.21)),
    ("Ours C*+T (multi-head conv)", SAMM, pct(acc=86.69, uf1=85.29)),
    ("ResNet18 (C) [not implemented]", None, pct(acc=76.47, uf1=73.25)),
]
