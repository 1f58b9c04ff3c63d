"""MESTI Table II: MESTI as the input of published MER networks (accuracy, LOSO).

Run (one dataset per run; that dataset's column fills; 5-class sets, docs/mesti.md):
  python -m experiments.table --paper mesti --table 2 --dataset casme2 data.root=/path/to/CASME2 data.protocol=casme2_5class
  python -m experiments.table --paper mesti --table 2 --dataset samm data.root=/path/to/SAMM data.protocol=samm_5class_mesti
  python -m experiments.table --paper mesti --table 2 --tiny           # synthetic smoke run
Rows marked * carry the ORIGINAL studies' numbers (Micro-Attention [55] on apex frames,
LEARNet's VGG19 [63] on dynamic images); we run them with our training for comparison.
Micro-Attention reads grey 224 x 224 images (its official structure, 5,945,799 params).
"""

from merjax.configs.meganet import SIZE, TINY  # noqa: F401

TITLE = "MESTI Table II: MESTI in published MER networks (accuracy, LOSO)"
BASE = "micro_attention"
COLUMNS = ("casme2/acc", "samm/acc", "acc", "uf1", "uar")
_FIVE = ["data.synthetic.num_classes=5"]


def acc(casme2, samm):
  return {"casme2/acc": casme2, "samm/acc": samm}


ROWS = [
    ("Micro-Attention / Apex frame* (paper: original study)",
     _FIVE + ['data.inputs={"image": "apex"}'], acc(0.659, 0.485), "micro_attention"),
    ("Micro-Attention / MESTI", _FIVE, acc(0.7102, 0.6324), "micro_attention"),
    ("VGG19 / Dynamic image* (paper: original study)",
     _FIVE + ['data.inputs={"image": "dynamic_image"}'], acc(0.5102, 0.4323), "vgg19"),
    ("VGG19 / MESTI", _FIVE, acc(0.6939, 0.6029), "vgg19"),
]
