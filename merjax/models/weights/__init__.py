"""Weights in and out of merjax models (docs/weights.md).

- `read_weights(path)`: a .pth/.pt (zip or legacy torch.save; never unpickling code),
  .safetensors or .npz file -> flat {name: numpy array};
- `model_converter(model, fmt)` + `convert(state, variables, converter)`: torch names and
  layouts -> Flax variables, every mismatch named in one error (strict) or skipped
  (`strict=False`);
- `load_variables(model, path, fmt, sample)`: a whole model's variables from a file;
- `export_state_dict` / `save_safetensors`: Flax variables -> a torch-compatible state_dict;
- `pretrained`: `model.pretrained` / `model.pretrained_format` / `model.init` (the trainer's
  initialisation of every member).
"""

from merjax.models.weights.converters import FORMATS, merjax_names, model_converter
from merjax.models.weights.export import (export_run, export_state_dict, load_variables,
                                          save_npz, save_safetensors)
from merjax.models.weights.mapping import Converter, Leaf, Report, convert
from merjax.models.weights.readers import read_weights, restricted_load, unwrap_state_dict

__all__ = ["FORMATS", "Converter", "Leaf", "Report", "convert", "export_run",
           "export_state_dict", "load_variables", "merjax_names", "model_converter",
           "read_weights", "restricted_load", "save_npz", "save_safetensors",
           "unwrap_state_dict"]
