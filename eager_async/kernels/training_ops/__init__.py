"""Optimizer updates of resource variables, as TF 2.21 computes them; importing the
package registers them.

- ``dense``: the ResourceApply* ops (a gradient for the whole variable)
- ``sparse``: the ResourceSparseApply* ops (rows ``indices`` of the variable)
- ``_common``: the registration with TF's static checks, and the variables an update
  reads and writes

Each update reads its variables, computes the new values in the variables' dtype (half
and bfloat16 round after every step, as Eigen does) and replaces the values
(copy-on-write: a value read earlier never changes under its reader). ``use_locking`` is
accepted and ignored.

Where TF differs from the textbook, in both kinds (each module lists its own):

- An uninitialised variable reads as an empty vector, so updating one fails on shapes
  with INVALID_ARGUMENT ("var and grad do not have the same shape[0] [2]"), not
  FAILED_PRECONDITION; with empty gradients it is a no-op and the variable stays
  uninitialised.

Where eager_async differs from TF: TF aborts the process when ``T`` is not the
variable's dtype; here it is INVALID_ARGUMENT.
"""

from . import dense, sparse
from .dense import (
    resource_apply_ada_max,
    resource_apply_adadelta,
    resource_apply_adagrad,
    resource_apply_adagrad_da,
    resource_apply_adagrad_v2,
    resource_apply_adam,
    resource_apply_adam_with_amsgrad,
    resource_apply_add_sign,
    resource_apply_centered_rms_prop,
    resource_apply_ftrl,
    resource_apply_ftrl_v2,
    resource_apply_gradient_descent,
    resource_apply_keras_momentum,
    resource_apply_momentum,
    resource_apply_power_sign,
    resource_apply_proximal_adagrad,
    resource_apply_proximal_gradient_descent,
    resource_apply_rms_prop,
)
from .sparse import (
    resource_sparse_apply_adadelta,
    resource_sparse_apply_adagrad,
    resource_sparse_apply_adagrad_da,
    resource_sparse_apply_adagrad_v2,
    resource_sparse_apply_centered_rms_prop,
    resource_sparse_apply_ftrl,
    resource_sparse_apply_ftrl_v2,
    resource_sparse_apply_keras_momentum,
    resource_sparse_apply_momentum,
    resource_sparse_apply_proximal_adagrad,
    resource_sparse_apply_proximal_gradient_descent,
    resource_sparse_apply_rms_prop,
)

__all__ = [
    "dense",
    "resource_apply_ada_max",
    "resource_apply_adadelta",
    "resource_apply_adagrad",
    "resource_apply_adagrad_da",
    "resource_apply_adagrad_v2",
    "resource_apply_adam",
    "resource_apply_adam_with_amsgrad",
    "resource_apply_add_sign",
    "resource_apply_centered_rms_prop",
    "resource_apply_ftrl",
    "resource_apply_ftrl_v2",
    "resource_apply_gradient_descent",
    "resource_apply_keras_momentum",
    "resource_apply_momentum",
    "resource_apply_power_sign",
    "resource_apply_proximal_adagrad",
    "resource_apply_proximal_gradient_descent",
    "resource_apply_rms_prop",
    "resource_sparse_apply_adadelta",
    "resource_sparse_apply_adagrad",
    "resource_sparse_apply_adagrad_da",
    "resource_sparse_apply_adagrad_v2",
    "resource_sparse_apply_centered_rms_prop",
    "resource_sparse_apply_ftrl",
    "resource_sparse_apply_ftrl_v2",
    "resource_sparse_apply_keras_momentum",
    "resource_sparse_apply_momentum",
    "resource_sparse_apply_proximal_adagrad",
    "resource_sparse_apply_proximal_gradient_descent",
    "resource_sparse_apply_rms_prop",
    "sparse",
]
