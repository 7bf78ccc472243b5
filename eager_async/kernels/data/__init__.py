"""tf.data on the worker: dataset ops whose DT_VARIANT outputs hold pipeline objects
(``datasets``), iterators that pull through them lazily, multi-device iterators that
deal one pass to several devices, and optionals.

Importing the package registers every op of its modules.
"""

from . import (
    batch_ops,
    generator_ops,
    iterator_ops,
    multi_device_iterator_ops,
    optional_ops,
    options_ops,
    shuffle_ops,
    source_ops,
    structure_ops,
    transform_ops,
    tuning_ops,
)

__all__ = [
    "batch_ops",
    "generator_ops",
    "iterator_ops",
    "multi_device_iterator_ops",
    "optional_ops",
    "options_ops",
    "shuffle_ops",
    "source_ops",
    "structure_ops",
    "transform_ops",
    "tuning_ops",
]
