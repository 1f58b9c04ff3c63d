"""A PyTorch FDP release for the converter test, written here from the layout docs/weights.md
describes (`CYF-cuber/FDP` `fdp.py`): the same module and parameter names, so the release's
state_dict would load into it. Sizes are arguments (defaults: the release's) so the test can
run a small one; the release's reshape (B, T, D) -> (B, 1, sqrt D, sqrt D, T) is kept."""

import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def make_divisible(v, divisor):
  """Round to a multiple of `divisor`, never more than 10% down (the release's MLP width)."""
  out = max(divisor, int(v + divisor / 2) // divisor * divisor)
  return out + divisor if out < 0.9 * v else out


class ConvNorm(nn.Module):
  """Conv3x3 (no bias, padding 1) + BN + ReLU: one stem entry (`conv`, `norm`)."""

  def __init__(self, c_in, c_out, stride):
    super().__init__()
    self.conv = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
    self.norm = nn.BatchNorm2d(c_out, eps=1e-5)

  def forward(self, x):
    return F.relu(self.norm(self.conv(x)))


class PatchEmbed(nn.Module):
  """Stride 2: avg-pool 2 (ceil, padding not counted) + 1x1 conv + BN; a width change:
  1x1 conv + BN; otherwise nothing (no parameters)."""

  def __init__(self, c_in, c_out, stride):
    super().__init__()
    self.stride = stride
    if stride == 2 or c_in != c_out:
      self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
      self.norm = nn.BatchNorm2d(c_out, eps=1e-5)
    else:
      self.conv = None

  def forward(self, x):
    if self.stride == 2:
      x = F.avg_pool2d(x, 2, 2, ceil_mode=True, count_include_pad=False)
    return x if self.conv is None else self.norm(self.conv(x))


class MHCA(nn.Module):
  """The released "multi-head conv attention": one dense 3x3 conv C -> C without bias."""

  def __init__(self, c):
    super().__init__()
    self.group_conv3x3 = nn.Conv2d(c, c, 3, 1, 1, bias=False)

  def forward(self, x):
    return self.group_conv3x3(x)


class Mlp(nn.Module):
  """1x1 conv (bias) -> ReLU -> 1x1 conv (bias); hidden = make_divisible(C * ratio, 32)."""

  def __init__(self, c, ratio=3):
    super().__init__()
    hidden = make_divisible(c * ratio, 32)
    self.conv1 = nn.Conv2d(c, hidden, 1)
    self.conv2 = nn.Conv2d(hidden, c, 1)

  def forward(self, x):
    return self.conv2(F.relu(self.conv1(x)))


class LFA(nn.Module):
  """patch_embed; x + mhca(x); x + mlp(norm(x)) (DropPath is the identity in eval)."""

  def __init__(self, c_in, c_out, stride):
    super().__init__()
    self.patch_embed = PatchEmbed(c_in, c_out, stride)
    self.mhca = MHCA(c_out)
    self.norm = nn.BatchNorm2d(c_out, eps=1e-5)
    self.mlp = Mlp(c_out)

  def forward(self, x):
    x = self.patch_embed(x)
    x = x + self.mhca(x)
    return x + self.mlp(self.norm(x))


class FrameEncoder(nn.Module):
  """`frame_rep`: stem.{0-3}, features.{0..} (LFA blocks), norm, avg-pool, proj_head.0."""

  def __init__(self, stem_widths, depths, widths, strides, feature_dim):
    super().__init__()
    stem, c = [], 1
    for i, w in enumerate(stem_widths):
      stem.append(ConvNorm(c, w, 2 if i in (0, len(stem_widths) - 1) else 1))
      c = w
    self.stem = nn.Sequential(*stem)
    blocks = []
    for depth, width, stride in zip(depths, widths, strides):
      for b in range(depth):
        blocks.append(LFA(c, width, stride if b == 0 else 1))
        c = width
    self.features = nn.Sequential(*blocks)
    self.norm = nn.BatchNorm2d(c, eps=1e-5)
    self.proj_head = nn.Sequential(nn.Linear(c, feature_dim))

  def forward(self, x_BxCxHxW):
    x = self.norm(self.features(self.stem(x_BxCxHxW)))
    return self.proj_head(x.mean(dim=(2, 3)))


class ClsNet(nn.Module):
  """`mer`: Conv3d 1 -> 8 kernel (3, 3, T) padding (1, 1, 0), max-pool (3, 3, 1), flatten,
  fc1 -> ReLU -> fc2; returns (Conv3d output, logits)."""

  def __init__(self, side, frames, num_classes, hidden=256, channels=8):
    super().__init__()
    self.conv3d = nn.Conv3d(1, channels, (3, 3, frames), padding=(1, 1, 0))
    self.fc1 = nn.Linear(channels * (side // 3) ** 2, hidden)
    self.fc2 = nn.Linear(hidden, num_classes)

  def forward(self, vol_Bx1xDxHxW):
    feat = self.conv3d(vol_Bx1xDxHxW)
    x = F.max_pool3d(feat, (3, 3, 1)).flatten(1)
    return feat, self.fc2(F.relu(self.fc1(x)))


_ENC = [(64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)]


class SegNet(nn.Module):
  """`dyimg_net`: VGG16-SegNet, conv{s}{j} (bias) + bn{s}{j} + ReLU, 2x2 max-pool with
  indices; decoder conv{s}{j}d + bn{s}{j}d after max-unpooling; conv11d (no BN)."""

  def __init__(self, c_in, c_out):
    super().__init__()
    self.enc, self.dec = [], []
    c = c_in
    for s, widths in enumerate(_ENC, start=1):
      names = []
      for j, w in enumerate(widths, start=1):
        self._add(f"{s}{j}", c, w, bn=True)
        names.append(f"{s}{j}")
        c = w
      self.enc.append(names)
    for s in range(5, 0, -1):
      names = []
      n = len(_ENC[s - 1])
      for j in range(n, 0, -1):
        last = j == 1
        w = (_ENC[s - 2][-1] if s > 1 else c_out) if last else _ENC[s - 1][j - 2]
        self._add(f"{s}{j}d", c, w, bn=not (s == 1 and last))
        names.append(f"{s}{j}d")
        c = w
      self.dec.append(names)

  def _add(self, name, c_in, c_out, bn):
    setattr(self, "conv" + name, nn.Conv2d(c_in, c_out, 3, padding=1))
    if bn:
      setattr(self, "bn" + name, nn.BatchNorm2d(c_out))

  def _cbr(self, x, name):
    x = getattr(self, "conv" + name)(x)
    return F.relu(getattr(self, "bn" + name)(x)) if hasattr(self, "bn" + name) else x

  def forward(self, x):
    indices = []
    for names in self.enc:
      for name in names:
        x = self._cbr(x, name)
      x, idx = F.max_pool2d(x, 2, 2, return_indices=True)
      indices.append(idx)
    for names, idx in zip(self.dec, reversed(indices)):
      x = F.max_unpool2d(x, idx, 2, 2)
      for name in names:
        x = self._cbr(x, name)
    return x


class FDPReleaseTorch(nn.Module):
  """frame_rep (one frame at a time) -> (B, T, D) -> reshape (B, 1, s, s, T), s = sqrt D,
  no permute -> mer -> logits; dyimg_net(conv3d output[..., 0]) -> sigmoid."""

  def __init__(self, num_classes=5, stem_widths=(64, 32, 64, 64), depths=(3, 4, 10, 3),
               widths=(96, 192, 384, 768), strides=(1, 2, 2, 2), feature_dim=4096, frames=8):
    super().__init__()
    self.side = math.isqrt(feature_dim)
    self.frame_rep = FrameEncoder(stem_widths, depths, widths, strides, feature_dim)
    self.mer = ClsNet(self.side, frames, num_classes)
    self.dyimg_net = SegNet(8, 1)

  def forward(self, frames_BxTxCxHxW):
    """(logits B x K, SegNet output before the sigmoid B x s x s, frame features B x T x D)."""
    feats = torch.stack([self.frame_rep(frames_BxTxCxHxW[:, k])
                         for k in range(frames_BxTxCxHxW.shape[1])], 1)
    vol = feats.reshape(-1, 1, self.side, self.side, feats.shape[1])
    feat, logits = self.mer(vol)
    return logits, self.dyimg_net(feat[..., 0])[:, 0], feats
