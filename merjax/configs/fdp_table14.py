"""FDP Table 14: dynamic-image construction, average test MSE (x 1e-3) on SAMM, five categories.

Run (the MSE needs the trained networks, which a LOSO run does not keep, so this table has its
own runner that trains every fold in-process and scores the constructed DI of each test clip):
  python -m experiments.show_fdp --table 14 data.root=/path/to/samm
  python -m experiments.show_fdp --table 14 --tiny                  # synthetic smoke run
`python -m experiments.table --paper fdp --table 14` also runs the rows, but prints only Acc
(the MSE column reads "n/a" there). Average MSE = mean over test clips of the pixel MSE between
the sigmoid DI and the [0, 1] harmonic dynamic image of the clip's (unaugmented) frames.
"FDP w/o L_MER" keeps the MER head but trains with lambda_m = 0 (`train.loss.lambda_m=0`).
"""

from merjax.configs.fdp import TINY, on  # noqa: F401

TITLE = "FDP Table 14: dynamic-image construction, SAMM five categories (LOSO), average MSE"
BASE = "fdp"
COLUMNS = ("di_mse_x1e3", "acc")
SAMM = on("samm", 5)
ROWS = [
    ("FDP", SAMM, {"di_mse_x1e3": 1.44}),
    ("FDP w/o L_MER", SAMM + ["train.loss.lambda_m=0"], {"di_mse_x1e3": 1.78}),
    ("FDP w/o L", SAMM + ["model.use_local=false"], {"di_mse_x1e3": 6.77}),
    ("FDP w/o G", SAMM + ["model.use_global=false"], {"di_mse_x1e3": 6.90}),
    ("FDP w/o L&G", SAMM + ["model.use_local=false", "model.use_global=false"],
     {"di_mse_x1e3": 7.43}),
]
