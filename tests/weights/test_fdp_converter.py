"""The FDP release converter (format `reference`) against a PyTorch FDP release written
from the release's layout (torch_fdp.py): random weights and BN statistics, torch.save,
read back, converted; the Flax eval forward pass must match torch's (logits, frame
features, SegNet output before the sigmoid) within 1e-4 of each one's scale. The full-size
release's names and shapes convert strictly (built on torch's meta device, no weights)."""

import jax
import numpy as np
import pytest

import torch_fdp as T
import torch_refs as R
from merjax.errors import MerjaxError
from merjax.models import registry
from merjax.models.fdp_release import SegNet
from merjax.models.weights import converters, export, mapping, pretrained, readers

torch = T.torch
TOL = 1e-4
# Small but complete: every block kind (patch embed with stride 2, with a width change,
# none), 16 x 16 frames, feature_dim 1024 (32 x 32 maps, the smallest SegNet takes).
SMALL = {"stem_widths": (8, 8, 16, 16), "depths": (1, 2, 1, 1), "widths": (16, 32, 48, 64),
         "feature_dim": 1024}
K, B, FRAMES, SIZE = 5, 2, 8, 16


def _relative(a, b):
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)


def _torch_small(num_classes=K):
  torch.manual_seed(0)
  return R.randomize_bn(T.FDPReleaseTorch(num_classes, frames=FRAMES, **SMALL)).eval()


def _flax_small(num_classes=K):
  return registry.build_model({"name": "fdp_release", **SMALL}, num_classes)


def _abstract(model, batch):
  return jax.eval_shape(lambda: model.init(
      {"params": jax.random.key(0), "dropout": jax.random.key(0)}, batch, train=False))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
  """(torch module, its torch.save'd state_dict read back, the Flax model, its variables
  converted from that file in the default format)."""
  module = _torch_small()
  path = str(tmp_path_factory.mktemp("fdp") / "fdp_release.pth")
  torch.save(module.state_dict(), path)
  model = _flax_small()
  batch = {"frames": np.zeros((1, FRAMES, SIZE, SIZE, 1), np.float32)}
  variables, report = export.load_variables(model, path, batch)   # default format: reference
  assert not report.skipped and not report.unused
  assert len(report.loaded) == len([k for k in module.state_dict()
                                    if not k.endswith("num_batches_tracked")])
  return module, readers.read_weights(path), model, variables


def test_fdp_release_matches_the_torch_release(loaded):
  module, state, model, variables = loaded
  assert pretrained.default_format(model) == "reference"
  frames = np.random.default_rng(0).normal(size=(B, FRAMES, SIZE, SIZE, 1)).astype(np.float32)
  with torch.no_grad():
    logits, di_raw, feats = module(torch.from_numpy(frames.transpose(0, 1, 4, 2, 3).copy()))
  out, inter = jax.jit(lambda v: model.apply(
      v, {"frames": frames}, train=False,
      capture_intermediates=lambda m, _n: isinstance(m, SegNet)))(variables)
  ours_di = inter["intermediates"]["dyimg_net"]["__call__"][0][..., 0]
  assert out["logits"].shape == (B, K) and ours_di.shape == (B, 32, 32)
  assert _relative(out["logits"], logits.numpy()) <= TOL
  assert _relative(out["frame_features"], feats.numpy()) <= TOL
  assert _relative(ours_di, di_raw.numpy()) <= TOL
  np.testing.assert_allclose(out["dynamic_image"][..., 0], torch.sigmoid(di_raw).numpy(),
                             atol=1e-5)
  # The layouts: Conv3d OIDHW -> DHWIO, fc1 a plain transpose (flattened C, D, H, W).
  np.testing.assert_array_equal(variables["params"]["conv3d"]["kernel"],
                                state["mer.conv3d.weight"].transpose(2, 3, 4, 1, 0))
  np.testing.assert_array_equal(variables["params"]["fc1"]["kernel"], state["mer.fc1.weight"].T)


def test_export_gives_back_the_torch_state_dict(loaded):
  _module, state, model, variables = loaded
  back = export.export_state_dict(model, variables)
  expected = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
  assert back.keys() == expected.keys()
  for k, v in expected.items():
    np.testing.assert_array_equal(back[k], v, err_msg=k)


def test_a_new_head_and_a_bad_checkpoint_name_every_key(loaded):
  state = loaded[1]
  batch = {"frames": np.zeros((1, FRAMES, SIZE, SIZE, 1), np.float32)}
  model = _flax_small(num_classes=3)
  target = _abstract(model, batch)
  converter = converters.model_converter(model, "reference")
  with pytest.raises(MerjaxError) as e:
    mapping.convert(state, target, converter)
  assert "\n" not in str(e.value)
  assert "mer.fc2.weight" in str(e.value) and "mer.fc2.bias" in str(e.value)
  _, report = mapping.convert(state, target, converter, strict=False)
  assert {"/".join(p) for p, _why in report.skipped} == {"params/fc2/kernel", "params/fc2/bias"}
  # model.pretrained (roles backbone / model) loads everything but the head fc2.
  _, report = mapping.convert(state, target, converter, roles=pretrained.PRETRAINED_ROLES)
  assert report.unused == ["mer.fc2.weight", "mer.fc2.bias"] and not report.skipped
  # A missing, a mis-shaped and an unknown tensor: each named in one line.
  bad = dict(state)
  del bad["frame_rep.features.2.mhca.group_conv3x3.weight"]
  bad["dyimg_net.bn11.running_var"] = np.ones(3, np.float32)
  bad["frame_rep.features.9.norm.weight"] = np.ones(4, np.float32)
  with pytest.raises(MerjaxError) as e:
    mapping.convert(bad, _abstract(_flax_small(), batch), converter)
  for name in ("frame_rep.features.2.mhca.group_conv3x3.weight", "dyimg_net.bn11.running_var",
               "frame_rep.features.9.norm.weight"):
    assert name in str(e.value)


def test_the_full_size_release_converts_strictly():
  """The release's default sizes (85,304,206 parameters): every name and shape fits."""
  with torch.device("meta"):
    module = T.FDPReleaseTorch()
  state = {k: np.broadcast_to(np.float32(0), tuple(v.shape)) for k, v in
           module.state_dict().items() if not k.endswith("num_batches_tracked")}
  assert sum(int(np.prod(v.shape)) for k, v in module.named_parameters()) == 85_304_206
  model = registry.build_model({"name": "fdp_release"}, 5)
  batch = {"frames": np.zeros((1, 8, 64, 64, 1), np.float32)}
  target = _abstract(model, batch)
  converter = converters.model_converter(model, "reference")
  names = {k for _p, (_part, leaf) in converter.leaves(mapping.flatten(target)).items()
           for k in leaf.keys}
  assert names == set(state)
  _, report = mapping.convert(state, target, converter)
  assert len(report.loaded) == len(state) and not report.unused
