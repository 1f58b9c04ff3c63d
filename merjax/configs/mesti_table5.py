"""MESTI Table V: ablation of MEGANet's blocks (3 classes, LOSO; the paper's numbers are SMIC-HS).

Run:
  python -m experiments.table --paper mesti --table 5 --dataset smic data.root=/path/to/SMIC data.protocol=smic_3class
  python -m experiments.table --paper mesti --table 5 --tiny           # synthetic smoke run
The full model's row equals the SMIC-HS column of Table III, so the ablations read as
SMIC-HS 3-class runs (the paper does not name the dataset). The rows follow the table's
three columns (its prose swaps "Residual Block only" and "Self-attention only"):
use_gradient_attention, use_residual and use_self_attention of merjax/models/meganet.py.
Without the residual the two 3 x 3 convs stay; without self-attention Y = Dropout(ReLU(X_res)).
"""

from merjax.configs.meganet import TINY  # noqa: F401

TITLE = "MESTI Table V: ablation of MEGANet's key blocks (LOSO, pooled)"
BASE = "meganet"
COLUMNS = ("uf1", "uar", "acc")


def switches(gradient_attention: bool, residual: bool, self_attention: bool) -> list[str]:
  return [f"model.use_gradient_attention={gradient_attention}",
          f"model.use_residual={residual}", f"model.use_self_attention={self_attention}"]


def paper(uf1, uar, acc):
  return {"uf1": uf1, "uar": uar, "acc": acc}


PAPER_FULL = paper(0.917, 0.924, 0.9268)
ROWS = [
    ("Residual only (GA -, Res +, SA -)", switches(False, True, False),
     paper(0.788, 0.821, 0.8049)),
    ("Self-attention only (GA -, Res -, SA +)", switches(False, False, True),
     paper(0.746, 0.775, 0.7561)),
    ("Residual + self-attention (GA -, Res +, SA +)", switches(False, True, True),
     paper(0.8304, 0.8609, 0.8354)),
    ("Gradient attention only (GA +, Res -, SA -)", switches(True, False, False),
     paper(0.8084, 0.8551, 0.8110)),
    ("Full MEGANet (GA +, Res +, SA +)", switches(True, True, True), PAPER_FULL),
]
