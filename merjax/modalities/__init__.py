"""Modality kernels (jnp) and the cached modality stage."""

from merjax.modalities.rank_pooling import (di_phase_weights, dynamic_image,
                                            mesti, mesti_weights,
                                            rank_pooling_weights)
from merjax.modalities.stage import stage_inputs

__all__ = ["rank_pooling_weights", "mesti_weights", "di_phase_weights",
           "dynamic_image", "mesti", "stage_inputs"]
