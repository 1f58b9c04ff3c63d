"""Every converter against its PyTorch original: the torch reference with random weights
(nothing downloaded) is saved with torch.save, read back, converted, and the Flax forward
pass in eval mode must match torch's on the same random input (logits and the features
before the head), max |diff| <= 1e-4 x the logit (feature) scale."""

import jax
import numpy as np
import pytest
from flax import linen as nn

import torch_refs as R
from merjax.errors import MerjaxError
from merjax.models import registry
from merjax.models.weights import converters, export, mapping, readers

torch = R.torch
TOL = 1e-4
K = 7


def _relative(a, b):
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  return np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)


def _saved(tmp_path, module, legacy=False):
  path = str(tmp_path / ("legacy.pth" if legacy else "w.pth"))
  torch.save(module.state_dict(), path, _use_new_zipfile_serialization=not legacy)
  return readers.read_weights(path)


def _torch_with_features(module, head, x):
  """(logits, input of `head`) of an eval-mode torch forward pass on NHWC x."""
  seen = {}
  hook = head.register_forward_hook(lambda _m, inp, _out: seen.update(f=inp[0]))
  logits = R.forward_numpy(module, x)
  hook.remove()
  return logits, seen["f"].detach().numpy().reshape(len(x), -1)


def _torchvision(name):
  return getattr(R.import_torchvision().models, name)(weights=None, num_classes=K)


def _timm(name):
  return R.timm_module().create_model(name, pretrained=False, num_classes=K)


# (registry name, torch constructor, input size, format, the torch head module)
BACKBONES = [
    ("resnet18", lambda: _torchvision("resnet18"), 32, "torchvision", lambda m: m.fc),
    ("resnet50", lambda: _torchvision("resnet50"), 32, "torchvision", lambda m: m.fc),
    ("vgg19", lambda: _torchvision("vgg19"), 32, "torchvision", lambda m: m.classifier[6]),
    ("efficientnet_b0", lambda: _torchvision("efficientnet_b0"), 32, "torchvision",
     lambda m: m.classifier[1]),
    ("efficientnetv2_s", lambda: _torchvision("efficientnet_v2_s"), 32, "torchvision",
     lambda m: m.classifier[1]),
    ("convnext_tiny", lambda: _torchvision("convnext_tiny"), 32, "torchvision",
     lambda m: m.classifier[2]),
    ("mobilevit_s", lambda: _timm("mobilevit_s"), 64, "timm", lambda m: m.head.fc),
    ("resnet18", lambda: _timm("resnet18"), 32, "timm", lambda m: m.fc),
]


@pytest.mark.parametrize("name,make,size,fmt,head", BACKBONES,
                         ids=[f"{b[0]}-{b[3]}" for b in BACKBONES])
def test_backbone_matches_its_torch_original(tmp_path, name, make, size, fmt, head):
  torch.manual_seed(0)
  module = R.randomize_bn(make()).eval()
  state = _saved(tmp_path, module)
  model = registry.build_model({"name": name}, K)
  x = np.random.default_rng(1).normal(size=(2, size, size, 3)).astype(np.float32)
  variables, report = export.load_variables(model, state, {"image": x}, fmt)
  assert not report.skipped and not report.unused
  out = jax.jit(lambda v: model.apply(v, {"image": x}, train=False))(variables)
  logits, features = _torch_with_features(module, head(module), x)
  assert _relative(out["logits"], logits) <= TOL
  assert _relative(out["features"], features) <= TOL


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_ststnet_matches_the_official_code(tmp_path, legacy):
  torch.manual_seed(0)
  module = R.randomize_bn(R.STSTNetTorch()).eval()
  state = _saved(tmp_path, module, legacy)
  x = np.random.default_rng(0).uniform(0, 255, (4, 28, 28, 3)).astype(np.float32)
  logits, features = _torch_with_features(module, module.fc, x)
  for impl in ("patches", "xla"):
    model = registry.build_model({"name": "ststnet", "conv_impl": impl}, 3)
    variables, _ = export.load_variables(model, state, {"image": x}, "reference")
    seen = {}

    def record(f, args, kwargs, context, seen=seen):
      if isinstance(context.module, nn.Dense):
        seen["features"] = args[0]
      return f(*args, **kwargs)
    with nn.intercept_methods(record):
      out = model.apply(variables, {"image": x}, train=False)
    assert _relative(out["logits"], logits) <= TOL
    # The 400 features before fc: ours flattened H, W, C, torch's C, H, W.
    ours = np.asarray(seen["features"]).reshape(-1, 5, 5, 16).transpose(0, 3, 1, 2)
    assert _relative(ours.reshape(len(x), -1), features) <= TOL


def test_off_apexnet_matches_the_off_tanet_reimplementation(tmp_path):
  torch.manual_seed(0)
  module = R.OffApexNetTorch()
  state = _saved(tmp_path, module)
  x = np.random.default_rng(0).normal(size=(3, 28, 28, 2)).astype(np.float32)
  model = registry.build_model({"name": "off_apexnet"}, 3)
  variables, _ = export.load_variables(model, state, {"image": x}, "reference")
  out = model.apply(variables, {"image": x}, train=False)
  assert _relative(out["logits"], R.forward_numpy(module, x)) <= TOL


def test_a_mismatched_checkpoint_names_every_key(tmp_path):
  torch.manual_seed(0)
  module = R.STSTNetTorch(num_classes=5)
  state = _saved(tmp_path, module)
  state["extra.weight"] = np.zeros(3, np.float32)
  del state["bn2.running_var"]
  model = registry.build_model({"name": "ststnet"}, 3)
  x = np.zeros((1, 28, 28, 3), np.float32)
  with pytest.raises(MerjaxError) as e:
    export.load_variables(model, state, {"image": x}, "reference")
  message = str(e.value)
  assert "\n" not in message
  for name in ("bn2.running_var", "fc.weight", "fc.bias", "extra.weight"):
    assert name in message


def test_strict_false_keeps_a_new_head_fresh_and_says_so(tmp_path):
  """A torchvision resnet18 with 1000 classes into a 3-class classifier: the trunk loads,
  the head stays initialised and is listed."""
  torch.manual_seed(0)
  module = _torchvision_resnet18_1000()
  state = _saved(tmp_path, module)
  model = registry.build_model({"name": "resnet18"}, 3)
  x = np.zeros((1, 32, 32, 3), np.float32)
  with pytest.raises(MerjaxError, match="fc.weight"):
    export.load_variables(model, state, {"image": x}, "torchvision")
  variables, report = export.load_variables(model, state, {"image": x}, "torchvision",
                                            strict=False)
  skipped = {"/".join(p) for p, _why in report.skipped}
  assert skipped == {"params/head/kernel", "params/head/bias"}
  assert "fc.weight" in report.summary() and len(report.loaded) == 102 - 2
  np.testing.assert_array_equal(variables["params"]["backbone"]["conv1"]["kernel"],
                                state["conv1.weight"].transpose(2, 3, 1, 0))


def _torchvision_resnet18_1000():
  return R.import_torchvision().models.resnet18(weights=None)


def test_dianet_and_dfrnet_backbones_load_from_a_torchvision_resnet18(tmp_path):
  torch.manual_seed(0)
  module = R.randomize_bn(_torchvision_resnet18_1000())
  state = _saved(tmp_path, module)
  x = np.zeros((1, 32, 32, 3), np.float32)
  for cfg in ({"name": "dianet", "backbone": "resnet18", "shared_backbone": False},
              {"name": "dfrnet"}):
    model = registry.build_model(cfg, 3)
    batch = ({"di_onset": x, "di_offset": x} if cfg["name"] == "dianet"
             else {"flow": x[..., :2], "frames": x, "diff": x})
    if cfg["name"] == "dfrnet":
      batch = _dfrnet_batch(model, x)
    target = jax.eval_shape(lambda m=model, b=batch: m.init(jax.random.key(0), b, train=False))
    conv = converters.model_converter(model, "torchvision")
    variables, report = mapping.convert(state, target, conv, roles=("backbone",))
    flat = mapping.flatten(variables)
    if cfg["name"] == "dianet":
      for stream in ("backbone_onset", "backbone_offset"):
        np.testing.assert_array_equal(flat["params", stream, "layer4_1", "bn2", "scale"],
                                      state["layer4.1.bn2.weight"])
      assert set(report.unused) == {"fc.weight", "fc.bias"}
    else:
      np.testing.assert_array_equal(flat["batch_stats", "layer3_1", "bn2", "mean"],
                                    state["layer3.1.bn2.running_mean"])
      assert any(p[1] == "stem_conv" for p, _ in report.skipped)


def _dfrnet_batch(model, x):
  from merjax.models import dfrnet
  keys = dfrnet.parse_features(model.features)
  return {dfrnet.ROLES[k]: x for k in keys}


@pytest.mark.parametrize("fmt", ["merjax", "torchvision"])
def test_export_then_load_is_the_identity(tmp_path, fmt):
  model = registry.build_model({"name": "efficientnet_b0"}, 4)
  x = np.zeros((1, 32, 32, 3), np.float32)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), {"image": x}, train=False))
  rng = np.random.default_rng(0)
  variables = jax.tree.map(lambda s: rng.normal(size=s.shape).astype(s.dtype), shapes)
  sd = export.export_state_dict(model, variables, fmt)
  if fmt == "torchvision":      # torch's own shapes (SE layers as 1x1 convs)
    module = _torchvision("efficientnet_b0")
    module.classifier[1] = torch.nn.Linear(1280, 4)
    want = {k: tuple(v.shape) for k, v in module.state_dict().items()
            if not k.endswith("num_batches_tracked")}
    assert {k: v.shape for k, v in sd.items()} == want
  path = str(tmp_path / "w.safetensors")
  export.save_safetensors(sd, path)
  again, _ = export.load_variables(model, path, {"image": x}, fmt)
  for p, v in mapping.flatten(variables).items():
    np.testing.assert_array_equal(mapping.flatten(again)[p], v)
