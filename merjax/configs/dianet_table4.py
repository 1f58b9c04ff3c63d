"""DIANet Table 4: phase-wise dynamic images, one and two streams (accuracy, LOSO).

Run:
  python -m experiments.table --paper dianet --table 4 --dataset casme2 data.root=/path/to/CASME2
  python -m experiments.table --paper dianet --table 4 --tiny          # synthetic smoke run
The paper's one-stream rows are LEARNet* (its re-implementation); LEARNet is not in merjax,
so ours are a one-stream DIANet (same trunk, projection and MLP, cross-entropy only).
"Dynamic image" = Eq. 1 over onset..offset (linear ARP, `dynamic_image_linear`); the
two-stream row feeds the same whole-sequence dynamic image to both streams.
"""

from merjax.configs.dianet import (  # noqa: F401
    COLUMNS, PAPER_DIANET, TINY, one_stream, paper_acc)

TITLE = "DIANet Table 4: phase-wise dynamic images (accuracy, LOSO)"
BASE = "dianet"
_DI = "dynamic_image_linear"
ROWS = [
    ("1-stream, dynamic image (paper: LEARNet*)", one_stream(_DI),
     paper_acc(0.5667, 0.5926, 0.4896)),
    ("1-stream, DI-Onset (paper: LEARNet*)", one_stream("di_onset"),
     paper_acc(0.6000, 0.5407, 0.5278)),
    ("1-stream, DI-Offset (paper: LEARNet*)", one_stream("di_offset"),
     paper_acc(0.5708, 0.6148, 0.5035)),
    ("2-stream, dynamic image (DIANet)",
     [f'data.inputs={{"di_onset": "{_DI}", "di_offset": "{_DI}"}}'],
     paper_acc(0.5833, 0.5926, 0.5104)),
    ("2-stream, DI-Onset + DI-Offset (DIANet)", [], paper_acc(*PAPER_DIANET)),
]
