"""TensorFlow's list ops (TF's list_ops): a DT_VARIANT tensor holding a ``TensorList``,
what ``tf.TensorArray``, ``tf.map_fn``, ``tf.scan`` and AutoGraph loops build inside a
``tf.function``, and their gradients. Importing the package registers them.

- ``tensor_list``: the ``TensorList`` value and the checks its ops share
- ``create``: EmptyTensorList, TensorListReserve, TensorListFromTensor, TensorListSplit
- ``scatter``: TensorListScatter, TensorListScatterV2, TensorListScatterIntoExistingList
- ``items``: TensorListGetItem, TensorListSetItem, TensorListPushBack, TensorListPopBack,
  TensorListPushBackBatch, TensorListResize, TensorListLength, TensorListElementShape,
  TensorListConcatLists
- ``stack``: TensorListStack, TensorListGather, TensorListConcat, TensorListConcatV2

Lists are values: every op that "changes" one returns a new list.
"""

from . import create, items, scatter, stack, tensor_list

__all__ = ["create", "items", "scatter", "stack", "tensor_list"]
