"""Optional TFDS builders and reader for the real MER datasets (`pip install merjax[tfds]`).

`merjax.data.tfds.builders` defines one manual-download `GeneratorBasedBuilder`
per dataset (casme2, samm, smic, casme_sq, casme3, mmew, megc2019). Each calls
the merjax loader on `manual_dir` and writes one example per Clip, in
`array_record` files with `Tensor` features, so building and reading need no
TensorFlow. `load_clips` reads a prepared dataset back as Clip records.

Importing this package does not import tensorflow_datasets; the builders
module does, and `load_clips` imports it when called.
"""

from merjax.data.tfds.reader import load, load_clips

__all__ = ["load", "load_clips"]
