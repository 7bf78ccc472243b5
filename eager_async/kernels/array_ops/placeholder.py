"""PlaceholderWithDefault: a graph's optional feed, which in a function body (a
``tf.function``, the loop ``tf.vectorized_map`` and ``GradientTape.jacobian`` build) is
never fed, so it passes its input through.

Where TF differs: TF's static shape of the output is the ``shape`` attr, which may be
less specific than the input's, and its kernel does not check the input against it;
here the output's static shape is the input's, which is what the kernel gives.

>>> placeholder_with_default(np.float32([1, 2]), shape=(-1,))
array([1., 2.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from ..registry import op, same_shape
from ..specs import Shape

__all__ = ["placeholder_with_default"]


@op("PlaceholderWithDefault", shape=same_shape)
def placeholder_with_default(input: np.ndarray, *, shape: Shape) -> np.ndarray:
    """``input``, unchanged: nothing feeds a placeholder on an eager worker. The
    ``shape`` attr is required (the contract checks it) and not enforced, as in TF."""
    return input
