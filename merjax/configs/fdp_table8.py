"""FDP Table 8: cross-dataset CASME II <-> SAMM, three categories (happiness, surprise, others),
WAR / UAR.

Run:
  python -m experiments.table --paper fdp --table 8 data.root=/path/to/data
  python -m experiments.table --paper fdp --table 8 --tiny          # synthetic smoke run (LOSO)
  python -m experiments.table --paper fdp --table 8 --tiny data.dataset=casme2_samm \
      data.protocol=fdp_cross3 data.folds=cross data.root=/path/to/data   # tiny, cross-dataset
Each row trains on every clip of one dataset and tests on every clip of the other
(`data.folds=cross`). The loader `casme2_samm` (merjax/data/casme2_samm.py) yields both datasets'
clips (Clip.dataset "casme2" / "samm"): the CASME II and SAMM copies under data.root (or
`data.options={"casme2_root": ..., "samm_root": ...}`); the protocol `fdp_cross3` keeps
happiness, surprise and others (CASME II "others", SAMM "other"). WAR = accuracy; the "Avg." row
of the paper is the mean of the two runs (compute it from the two printed rows).
"""

from merjax.configs.fdp import TINY, on, pct  # noqa: F401

TITLE = "FDP Table 8: cross-dataset, three categories, WAR and UAR"
BASE = "fdp"
COLUMNS = ("war", "uar")


def _cross(train: str, test: str) -> list[str]:
  return on("casme2_samm", 3) + ["data.folds=cross", f"data.train_dataset={train}",
                                 f"data.test_dataset={test}"]


ROWS = [
    ("LBP-TOP CASME II->SAMM", None, pct(war=33.8, uar=32.7)),
    ("LBP-TOP SAMM->CASME II", None, pct(war=23.2, uar=31.6)),
    ("Khor et al. CASME II->SAMM", None, pct(war=54.4, uar=44.0)),
    ("Khor et al. SAMM->CASME II", None, pct(war=57.8, uar=33.7)),
    ("I2Transformer CASME II->SAMM", None, pct(war=51.2, uar=None)),
    ("I2Transformer SAMM->CASME II", None, pct(war=66.2, uar=None)),
    ("FDP CASME II->SAMM", _cross("casme2", "samm"), pct(war=58.2, uar=51.8)),
    ("FDP SAMM->CASME II", _cross("samm", "casme2"), pct(war=62.2, uar=56.0)),
    ("FDP Avg. (paper)", None, pct(war=60.2, uar=53.9)),
]
