"""PyTorch references for the converter tests: torchvision / timm constructors (random
weights, nothing downloaded) and the reference networks of STSTNet's official code and of
the Off-TANet OFF-ApexNet re-implementation, written here from their layer definitions."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn


def import_torchvision():
  """torchvision (and so timm) beside a CPU torch whose wheel does not match PyPI's
  torchvision C extension: the two ops its meta registrations name are declared first,
  so the pure-Python model code imports (no torchvision op is used by these tests)."""
  try:
    import torchvision  # pylint: disable=import-outside-toplevel
    return torchvision
  except RuntimeError as e:
    if "torchvision::nms" not in str(e):
      raise
  import sys  # pylint: disable=import-outside-toplevel
  for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
    del sys.modules[name]
  lib = torch.library.Library("torchvision", "DEF")
  for op in ("nms", "qnms"):
    lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
  import_torchvision.lib = lib          # keep the declarations alive
  import torchvision  # pylint: disable=import-outside-toplevel,redefined-outer-name
  return torchvision


def timm_module():
  import_torchvision()
  return pytest.importorskip("timm")


class STSTNetTorch(nn.Module):
  """STSTNet as the official main.py builds it: conv1-3 (3, 5, 8 filters, 3x3, padding 2),
  ReLU, bn1-3, max-pool 3/3 padding 1, dropout; concat, avg-pool 2/2, fc 400 -> K."""

  def __init__(self, in_channels=3, num_classes=3):
    super().__init__()
    self.conv1 = nn.Conv2d(in_channels, 3, 3, padding=2)
    self.conv2 = nn.Conv2d(in_channels, 5, 3, padding=2)
    self.conv3 = nn.Conv2d(in_channels, 8, 3, padding=2)
    self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(3), nn.BatchNorm2d(5), nn.BatchNorm2d(8)
    self.maxpool = nn.MaxPool2d(3, 3, padding=1)
    self.avgpool = nn.AvgPool2d(2, 2)
    self.dropout = nn.Dropout(0.5)
    self.fc = nn.Linear(5 * 5 * 16, num_classes)

  def forward(self, x):
    streams = []
    for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
      streams.append(self.dropout(self.maxpool(bn(torch.relu(conv(x))))))
    x = self.avgpool(torch.cat(streams, 1))
    return self.fc(x.reshape(x.shape[0], -1))


class _Stream(nn.Module):
  def __init__(self):
    super().__init__()
    self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
    self.pool1 = nn.MaxPool2d(2, 2)
    self.conv2 = nn.Conv2d(6, 16, 5, padding=2)
    self.pool2 = nn.MaxPool2d(2, 2)

  def forward(self, x):
    return self.pool2(self.conv2(self.pool1(self.conv1(x))))


class OffApexNetTorch(nn.Module):
  """The Off-TANet OFF-ApexNet: cnn1 (u), cnn2 (v), dense = 1568 -> 1024 -> 1024 -> K."""

  def __init__(self, num_classes=3):
    super().__init__()
    self.cnn1, self.cnn2 = _Stream(), _Stream()
    self.dense = nn.Sequential(nn.Linear(784 * 2, 1024), nn.ReLU(), nn.Dropout(0.5),
                               nn.Linear(1024, 1024), nn.ReLU(), nn.Dropout(0.5),
                               nn.Linear(1024, num_classes))

  def forward(self, flow):
    u, v = torch.chunk(flow, 2, dim=1)
    return self.dense(torch.cat([self.cnn1(u).reshape(-1, 784),
                                 self.cnn2(v).reshape(-1, 784)], 1))


def randomize_bn(module: nn.Module, seed: int = 0):
  """Random BatchNorm affine parameters and running statistics (a fresh torch module has
  weight 1, bias 0, mean 0, var 1: a conversion bug there would go unseen)."""
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for m in module.modules():
      if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.LayerNorm)) or type(m).__name__ in (
          "LayerNorm2d", "BatchNormAct2d"):
        if getattr(m, "weight", None) is not None:
          m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
          m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
        if getattr(m, "running_mean", None) is not None:
          m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
          m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
      if hasattr(m, "layer_scale") and isinstance(m.layer_scale, nn.Parameter):
        m.layer_scale.copy_(0.5 + torch.rand(m.layer_scale.shape, generator=g))
  return module


def state_numpy(module: nn.Module) -> dict:
  return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def forward_numpy(module: nn.Module, x_BxHxWxC: np.ndarray) -> np.ndarray:
  """Eval-mode output of a torch module on an NHWC numpy batch (given as NCHW)."""
  module.eval()
  with torch.no_grad():
    return module(torch.from_numpy(np.ascontiguousarray(x_BxHxWxC.transpose(0, 3, 1, 2)))).numpy()
