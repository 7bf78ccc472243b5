"""Checkpoint ops and TF's checkpoint file format; one module per noun, and importing
the package registers the ops.

- ``checkpoint_ops``: SaveV2, RestoreV2, MergeV2Checkpoints, ShardedFilename,
  ShardedFilespec, DisableCopyOnRead
- ``bundle``: the V2 checkpoint format (tensor bundle): ``<prefix>.index`` and
  ``<prefix>.data-NNNNN-of-MMMMM``
- ``table``: TF's table file (LevelDB's sorted string table), the index's format
- ``slices``: the ``shape_and_slices`` strings naming part of a tensor
- ``files``: which paths a client may use (``--allow-file-io``), and OS errors as statuses
- ``coding``: varints, fixed-width integers and masked crc32c
"""

from . import bundle, checkpoint_ops, coding, files, slices, table
from .checkpoint_ops import (
    disable_copy_on_read,
    merge_v2_checkpoints,
    restore_v2,
    save_v2,
    sharded_filename,
    sharded_filespec,
)

__all__ = [
    "bundle",
    "checkpoint_ops",
    "coding",
    "disable_copy_on_read",
    "files",
    "merge_v2_checkpoints",
    "restore_v2",
    "save_v2",
    "sharded_filename",
    "sharded_filespec",
    "slices",
    "table",
]
