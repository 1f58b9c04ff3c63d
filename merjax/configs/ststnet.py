"""STSTNet with its official training settings, on the synthetic dataset.

Run:
  python -m experiments.loso --model ststnet --dataset synthetic
Official code: Adam 5e-5, batch 256, 800 epochs, no augmentation, last epoch,
28 x 28 x 3 (u, v, strain) images on the raw 0-255 scale, PyTorch default initialisers and a
partial last batch (model.init=torch, train.last_batch=partial), pooled UF1/UAR, on the MEGC2019
3-class composite (`--dataset megc2019`, protocol megc2019_3class); the synthetic stand-in
has 3 classes too (so `experiments.describe --model ststnet` counts 1,683 parameters).
"""

from merjax.configs import common


def get_config():
  config = common.base_config()
  # PyTorch's default initialisers, as the official code's fresh nn.Modules.
  config["model"] = {"name": "ststnet", "dropout": 0.5, "init": "torch"}
  config["data"]["inputs"] = {"image": "flow_strain"}
  config["data"]["synthetic"] = {"num_classes": 3}   # stand-in for the 3-class MEGC task
  # Flow on 128 x 128 faces, the (u, v, strain) image resized to 28 x 28.
  config["data"]["preprocess"].update(size=128, output_size=28)
  config["data"]["input_scale"] = 255.0
  config["train"].update(
      epochs=800, batch_size=256,
      last_batch="partial",   # the official loop's last batch holds the remaining clips
      optimizer={"name": "adam", "learning_rate": 5e-5, "weight_decay": 0.0},
      loss={"name": "cross_entropy"}, augment={})
  return config
