"""Any registered ImageNet backbone as a plain apex-frame classifier (`--model resnet18`, ...).

Run:
  python -m experiments.loso --model resnet18 --dataset synthetic
  python -m experiments.loso --model convnext_tiny --dataset casme2 data.root=/path/to/CASME2
  python -m experiments.describe --model mobilevit_s
`load_config(name)` falls back to `get_config(name)` for a backbone of
merjax/models/backbones (`BACKBONES`) without its own config file; vgg19, resnet50 and
efficientnet_b0 have theirs (MESTI-paper baselines). Ours, no paper's:
- input: the apex frame (annotated; the middle frame where a dataset has none), RGB,
  resized to 224 x 224, the ImageNet resolution these architectures' strides are designed
  for (`data.preprocess.size=112` or smaller for a fast CPU run);
- per-fold channel standardisation; from scratch (ImageNet weights: `model.pretrained=FILE
  model.input_norm=imagenet data.standardize=false`, docs/weights.md);
- Adam 1e-4 (no weight decay), batch 32, 50 epochs, cross-entropy, flip + rotation of
  up to 10 degrees, last epoch;
- the architecture's own dropout and stochastic depth (`model.dropout`, `model.drop_path`).
"""

from merjax.configs import common
from merjax.errors import MerjaxError

SIZE = 224


def get_config(model_name: str | None = None) -> dict:
  """The classifier config of registered backbone `model_name` (MerjaxError otherwise)."""
  from merjax.models import backbones  # pylint: disable=import-outside-toplevel
  if model_name is None:
    raise MerjaxError("--model backbone: name a registered backbone, e.g. --model "
                      + " | ".join(backbones.BACKBONES))
  backbones.get(model_name, "--model")
  config = common.base_config()
  config["model"] = {"name": model_name}
  config["data"]["inputs"] = {"image": "apex"}
  config["data"]["standardize"] = True
  config["data"]["preprocess"].update(size=SIZE, grayscale=False, apex_method="annotated")
  config["train"].update(
      epochs=50, batch_size=32,
      optimizer={"name": "adam", "learning_rate": 1e-4, "weight_decay": 0.0},
      loss={"name": "cross_entropy"},
      augment={"flip": True, "rotate_deg": 10.0})
  return config
