"""DFR-Net Table 8: number of ResNet stages ("layers") 1-4, UF1 / UAR.

Run:
  python -m experiments.table --paper dfrnet --table 8 --dataset megc2019 data.root=/path/to/megc2019
  python -m experiments.table --paper dfrnet --table 8 --tiny
"""

from merjax.configs.dfrnet import COLUMNS, PAPER_FULL, TINY, paper_scores  # noqa: F401

TITLE = "DFR-Net Table 8: ResNet layers (MEGC2019 3 classes, LOSO)"
BASE = "dfrnet"
ROWS = [
    ("1", ["model.num_stages=1"],
     paper_scores(0.6851, 0.6504, 0.6319, 0.6177, 0.7203, 0.6907, 0.6899, 0.6628)),
    ("2", ["model.num_stages=2"],
     paper_scores(0.7470, 0.7107, 0.6428, 0.6285, 0.8374, 0.8178, 0.7788, 0.7197)),
    ("3", [], paper_scores(*PAPER_FULL)),
    ("4", ["model.num_stages=4"],
     paper_scores(0.7739, 0.7387, 0.6566, 0.6410, 0.8750, 0.8595, 0.8201, 0.7675)),
]
