"""MESTI Table VI: number of Residual-Attention blocks (3 classes, LOSO; paper: SMIC-HS).

Run:
  python -m experiments.table --paper mesti --table 6 --dataset smic data.root=/path/to/SMIC data.protocol=smic_3class
  python -m experiments.table --paper mesti --table 6 --tiny           # synthetic smoke run
Blocks take widths 64 / 128 / 256 / 512 and strides 1 / 2 / 2 / 2 in order (ours;
docs/meganet.md): 2 blocks 339,921, 3 blocks 1,341,586, 4 blocks 5,343,763 parameters.
"""

from merjax.configs.mesti_table5 import COLUMNS, PAPER_FULL, TINY, paper  # noqa: F401

TITLE = "MESTI Table VI: number of Residual-Attention blocks (LOSO, pooled)"
BASE = "meganet"
ROWS = [
    ("x 2", ["model.num_blocks=2"], paper(0.802, 0.842, 0.8232)),
    ("x 3", ["model.num_blocks=3"], PAPER_FULL),
    ("x 4", ["model.num_blocks=4"], paper(0.844, 0.878, 0.8598)),
]
