"""DFR-Net Table 6: attention in the ResNet blocks (none / SA / CA / both), UF1 / UAR.

Run:
  python -m experiments.table --paper dfrnet --table 6 --dataset megc2019 data.root=/path/to/megc2019
  python -m experiments.table --paper dfrnet --table 6 --tiny
"""

from merjax.configs.dfrnet import COLUMNS, PAPER_FULL, TINY, paper_scores  # noqa: F401

TITLE = "DFR-Net Table 6: attention mechanisms in the ResNet (MEGC2019 3 classes, LOSO)"
BASE = "dfrnet"
ROWS = [
    ("None", ["model.attention=none"],
     paper_scores(0.7333, 0.6991, 0.6323, 0.6214, 0.8198, 0.7941, 0.7583, 0.7103)),
    ("SA", ["model.attention=sa"],
     paper_scores(0.7436, 0.7097, 0.6402, 0.6270, 0.8461, 0.8282, 0.7570, 0.7068)),
    ("CA", ["model.attention=ca"],
     paper_scores(0.7596, 0.7248, 0.6470, 0.6334, 0.8586, 0.8386, 0.7949, 0.7453)),
    ("All", [], paper_scores(*PAPER_FULL)),
]
