"""TensorFlow's array ops, one module per noun; importing the package registers them.

- ``constants``: Const, Fill, ZerosLike, OnesLike, Range, LinSpace
- ``shapes``: Shape, ShapeN, Size, Rank, BroadcastArgs, Identity, IdentityN, Reshape,
  ExpandDims, Squeeze, Bitcast
- ``transpose``: Transpose, ConjugateTranspose, InvertPermutation
- ``concat``: ConcatV2, Pack, Unpack, Split, SplitV
- ``pad``: Pad, PadV2, MirrorPad, Tile, BroadcastTo
- ``slices``: Slice, StridedSlice, ReverseV2
- ``gather``: GatherV2, GatherNd, ScatterNd, TensorScatterUpdate, OneHot
- ``selection``: Where, Unique, TopKV2
- ``placeholder``: PlaceholderWithDefault

Each kernel takes its inputs and attrs as the registry hands them over, already checked
against TF's op definition; what is left is the math and the checks of values and shapes,
which a kernel shares with its shape rule so both fail with TF's message.
"""

from . import concat, constants, gather, pad, placeholder, selection, shapes, slices, transpose

__all__ = [
    "concat",
    "constants",
    "gather",
    "pad",
    "placeholder",
    "selection",
    "shapes",
    "slices",
    "transpose",
]
