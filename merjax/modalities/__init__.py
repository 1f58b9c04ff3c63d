"""Modality kernels (jnp), optical flow and the cached modality stage.

`tvl1_flow(frame0, frame1, **params)` / `tvl1_flow_batch(frames0, frames1, **params)`:
the jnp Dual TV-L1 port of OpenCV's (merjax/modalities/flow.py, docs/flow.md).
"""

from merjax.modalities.flow import tvl1_flow, tvl1_flow_batch
from merjax.modalities.rank_pooling import (di_phase_weights, dynamic_image,
                                            mesti, mesti_weights,
                                            rank_pooling_weights)
from merjax.modalities.stage import stage_inputs

__all__ = ["rank_pooling_weights", "mesti_weights", "di_phase_weights",
           "dynamic_image", "mesti", "stage_inputs", "tvl1_flow", "tvl1_flow_batch"]
