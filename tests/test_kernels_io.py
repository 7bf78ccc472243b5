"""Records of the checkpoint ops (SaveV2, RestoreV2, MergeV2Checkpoints, ShardedFilename,
ShardedFilespec, DisableCopyOnRead), and TF's checkpoint format itself.

The ops that touch files run as programs in a temporary directory the worker allows
(their op records can hold no files); without one they answer PERMISSION_DENIED, which
the Bad records check. The format is checked against checkpoints TensorFlow 2.21 wrote
(``vectors/checkpoint``): we read each tensor back, and write the same files byte for
byte.
"""

from __future__ import annotations

import doctest
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from kernel_records import BF16, RENDEZVOUS, Bad, Case, b, bf16, f32, f64, i32, i64, s, u8
from messages import create, enqueue, op

from eager_async import EagerServer, RuntimeOptions
from eager_async._proto.tensorflow import BundleEntryProto
from eager_async._proto.tensorflow import eager as pb
from eager_async.cli import main as cli_main
from eager_async.errors import (
    DataLossError,
    EagerError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnimplementedError,
)
from eager_async.functions import FunctionLibrary
from eager_async.kernels import TensorSpec
from eager_async.kernels.io_ops import bundle, checkpoint_ops, coding, files, slices, table
from eager_async.kernels.io_ops.bundle import BundleReader, Part, write_bundle
from eager_async.kernels.io_ops.coding import crc32c, mask, read_varint, unmask, varint
from eager_async.kernels.io_ops.files import FileRoot
from eager_async.kernels.io_ops.slices import ShapeAndSlice, parse, slice_key
from eager_async.kernels.io_ops.table import read_table, write_table
from eager_async.kernels.variables import var_handle_op
from eager_async.op_env import OpEnv
from eager_async.tensors import decode_shape, decode_tensor

VECTORS = Path(__file__).parent / "vectors" / "checkpoint"
EXPECTED = json.loads((VECTORS / "expected.json").read_text())
F32, I32, I64, STRING = (np.dtype(t) for t in (np.float32, np.int32, np.int64, object))
HANDLE = var_handle_op(dtype=F32, shape=(), shared_name=b"")
NO_ROOT = "start it with --allow-file-io DIR"

CASES = [
    Case("ShardedFilename", (s(b"ckpt_temp/part"), i32(0), i32(1)),
         (s(b"ckpt_temp/part-00000-of-00001"),)),
    Case("ShardedFilename", (s(b"/a/b"), i32(12), i32(123456)), (s(b"/a/b-00012-of-123456"),),
         name="wide"),
    Case("ShardedFilename", (s(b"b"), i32(-3), i32(7)), (s(b"b--0003-of-00007"),),
         name="negative as printf"),
    Case("ShardedFilespec", (s(b"/a/b"), i32(12)), (s(b"/a/b-?????-of-00012"),)),
    Case("DisableCopyOnRead", (HANDLE,), ()),
]

ERRORS = [
    Bad("SaveV2", (s(b"/tmp/c"), s([b"x"]), s([b""]), f32(1)), NO_ROOT,
        error=PermissionDeniedError),
    Bad("RestoreV2", (s(b"/tmp/c"), s([b"x"]), s([b""])), NO_ROOT, {"dtypes": [F32]},
        error=PermissionDeniedError),
    Bad("MergeV2Checkpoints", (s([b"/tmp/a"]), s(b"/tmp/c")), NO_ROOT,
        error=PermissionDeniedError),
    Bad("SaveV2", (s([b"a", b"b"]), s([b"x"]), s([b""]), f32(1)),
        "Input prefix should have a single element, got 2 instead."),
    Bad("SaveV2", (s(b"p"), s(b"x"), s(b""), f32(1)),
        "Input tensor_names and shape_and_slices should be an 1-D tensors, got [] and [] instead."),
    Bad("SaveV2", (s(b"p"), s([b"x"]), s([b"", b""]), f32(1)),
        "tensor_names and shape_and_slices have different number of elements: 1 vs. 2"),
    Bad("SaveV2", (s(b"p"), s([b"x", b"y"]), s([b"", b""]), f32(1)),
        "Got 2 tensor names but 1 tensors."),
    Bad("RestoreV2", (s(b"p"), s([b"x", b"y"]), s([b"", b""])),
        "Got 2 tensor names, but 1 expected dtypes.", {"dtypes": [F32]}),
    Bad("RestoreV2", (s(b"p"), s([b"x"]), s([b"abc"])),
        "Need least two elements in shape_and_slice specification: abc", {"dtypes": [F32]}),
    Bad("RestoreV2", (s(b"p"), s([b"x"]), s([b"2 x,1"])),
        "Expected a pair of numbers or '-' but got 'x,1': string = x,1", {"dtypes": [F32]}),
    Bad("RestoreV2", (s(b"p"), s([b"x"]), s([b"2 1,5"])),
        "Extent in dimension 0 out of bounds: shape = [2], slice = 1,5", {"dtypes": [F32]}),
    Bad("MergeV2Checkpoints", (s(b"a"), s(b"c")),
        "Input checkpoint_prefixes should be an 1-D tensor, got [] instead."),
    Bad("MergeV2Checkpoints", (s([b"a"]), s([b"c"])),
        "Input destination_prefix should be a scalar tensor, got [1] instead."),
    Bad("ShardedFilename", (s([b"a", b"b"]), i32(1), i32(2)),
        "basename must be a scalar, got shape [2]"),
    Bad("ShardedFilename", (s(b"a"), i32([1, 2]), i32(2)), "shard must be a scalar, got shape [2]"),
    Bad("ShardedFilespec", (s(b"a"), i32([2])), "num_shards must be a scalar, got shape [1]"),
    Bad("DisableCopyOnRead", (s([b"a", b"b"]),), "must be a resource handle"),
]


# --- programs: the file ops in a directory the worker allows ------------------------------

Run = Callable[..., list[np.ndarray]]


def runner(root: Path | None) -> Run:
    """Run an op as a context whose worker allows files under ``root`` would: its shape
    rule on the known inputs first, then its kernel."""
    library = FunctionLibrary()
    env = OpEnv(context_id=1, step_id=1, rendezvous=RENDEZVOUS, lookup=library.lookup,
                file_root=root)

    def run(name: str, *inputs: np.ndarray, **attrs: Any) -> list[np.ndarray]:
        spec = library.lookup(name, env)
        spec.shapes([TensorSpec(x.dtype, x.shape, x) for x in inputs], attrs)
        return spec.run(list(inputs), attrs)

    return run


def save(run: Run, prefix: Path | str, tensors: Mapping[str, np.ndarray],
         parts: Sequence[str] = ()) -> None:
    names = s([name.encode() for name in tensors])
    specs = s([p.encode() for p in parts] if parts else [b""] * len(tensors))
    run("SaveV2", s(str(prefix).encode()), names, specs, *tensors.values())


def restore(run: Run, prefix: Path | str, names: Sequence[str], dtypes: Sequence[np.dtype],
            parts: Sequence[str] = ()) -> list[np.ndarray]:
    specs = s([p.encode() for p in parts] if parts else [b""] * len(names))
    return run("RestoreV2", s(str(prefix).encode()), s([n.encode() for n in names]), specs,
               dtypes=list(dtypes))


def same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert actual.tolist() == expected.tolist()


EVERY_DTYPE = {
    "f16": np.array([1.0, -0.5], np.float16), "bf16": bf16([1.0, -3.0]), "f32": f32([[1.5, 2]]),
    "f64": f64(np.pi), "i8": np.array([-128, 127], np.int8), "i16": np.array([300], np.int16),
    "i32": i32([[1], [2]]), "i64": i64([2**40, -1]), "u8": u8([0, 255]),
    "u16": np.array([65535], np.uint16), "u32": np.array([2**32 - 1], np.uint32),
    "u64": np.array([2**64 - 1], np.uint64), "bool": b([True, False]),
    "c64": np.array([1 + 2j], np.complex64), "c128": np.array([0.5 - 1j], np.complex128),
    "text": s([[b"abc", b""], [b"\x00\xff", b"x" * 300]]), "scalar text": s(b"one"),
    "empty": np.zeros((0, 3), np.float32), "empty text": s([]),
}


def every_dtype(run: Run, root: Path) -> None:
    save(run, root / "ckpt", EVERY_DTYPE)
    assert sorted(os.listdir(root)) == ["ckpt.data-00000-of-00001", "ckpt.index"]
    names = list(EVERY_DTYPE)
    got = restore(run, root / "ckpt", names, [EVERY_DTYPE[n].dtype for n in names])
    for name, value in zip(names, got, strict=True):
        same(value, EVERY_DTYPE[name])


def parts_of_a_tensor(run: Run, root: Path) -> None:
    got = restore(run, root / "ckpt", ["f32", "text", "i32"], [F32, STRING, I32],
                  ["1 2 -:1,1", "2 2 1,1:-", "2 1 1,1:0,1"])
    same(got[0], f32([[2]]))
    same(got[1], s([[b"\x00\xff", b"x" * 300]]))
    same(got[2], i32([[2]]))


def client_save(run: Run, root: Path) -> None:
    """What tf.train.Checkpoint.write sends: a shard's name, SaveV2 to it, then the merge
    into the checkpoint's prefix, which removes the shard's directory."""
    prefix = str(root / "ckpt-1")
    (shard,) = run("ShardedFilename", s(f"{prefix}_temp/part".encode()), i32(0), i32(1))
    run("DisableCopyOnRead", HANDLE)
    save(run, shard.item().decode(), {"w": f32([1, 2]), "step": i64(7)})
    run("MergeV2Checkpoints", s([shard.item()]), s(prefix.encode()),
        delete_old_dirs=True, allow_missing_files=False)
    assert sorted(os.listdir(root)) == ["ckpt-1.data-00000-of-00001", "ckpt-1.index"]
    w, step = restore(run, prefix, ["w", "step"], [F32, I64])
    same(w, f32([1, 2]))
    same(step, i64(7))


def two_devices(run: Run, root: Path) -> None:
    """Two devices' shards merged into one checkpoint of two data files, a partitioned
    tensor's parts among them."""
    save(run, root / "tmp/part-0", {"a": f32([1]), "p": i32([[1, 2]])}, ["", "2 2 0,1:-"])
    save(run, root / "tmp/part-1", {"b": f32([2]), "p": i32([[3, 4]])}, ["", "2 2 1,1:-"])
    run("MergeV2Checkpoints", s([str(root / f"tmp/part-{i}").encode() for i in (0, 1)]),
        s(str(root / "ckpt").encode()), delete_old_dirs=True, allow_missing_files=False)
    assert sorted(os.listdir(root)) == [
        "ckpt.data-00000-of-00002", "ckpt.data-00001-of-00002", "ckpt.index"]
    a, b_, p, row = restore(run, root / "ckpt", ["a", "b", "p", "p"], [F32, F32, I32, I32],
                            ["", "", "", "2 2 1,1:-"])
    same(a, f32([1]))
    same(b_, f32([2]))
    same(p, i32([[1, 2], [3, 4]]))
    same(row, i32([[3, 4]]))


def errors(run: Run, root: Path) -> None:
    save(run, root / "ckpt", {"x": f32([1, 2]), "p": f32([1])}, ["", "2 0,1"])
    cases: list[tuple[Callable[[], object], type[EagerError], str]] = [
        (lambda: restore(run, root / "ckpt", ["nope"], [F32]), NotFoundError,
         "Key nope not found in checkpoint"),
        (lambda: restore(run, root / "ckpt", ["x"], [np.dtype(np.float64)]),
         InvalidArgumentError, "tensor_name = x; expected dtype double does not equal original "
         "dtype float"),
        (lambda: restore(run, root / "none", ["x"], [F32]), NotFoundError,
         f"Unsuccessful TensorSliceReader constructor: Failed to find any matching files for "
         f"{root / 'none'}"),
        (lambda: restore(run, root / "ckpt", ["x"], [F32], ["3 -"]), InvalidArgumentError,
         "tensor_name = x; shape in shape_and_slice spec [3] does not match the shape stored "
         "in checkpoint: [2]"),
        (lambda: restore(run, root / "ckpt", ["p"], [F32]), InvalidArgumentError,
         "Does not have sufficient slices for partitioned tensor p to restore in slice_spec: -"),
        (lambda: save(run, root / "c2", {"x": f32(1), "y": f32(2)}, ["", "2 0,1"]),
         InvalidArgumentError, "Slice in shape_and_slice specification does not match the "
         "shape of the tensor to  save: 2 0,1, tensor: []"),
        (lambda: save(run, root / "c2", {"": f32(1)}), InvalidArgumentError,
         "tensor_names[0] is empty"),
        (lambda: run("SaveV2", s(str(root / "c2").encode()), s([b"x", b"x"]), s([b"", b""]),
                     f32(1), f32(2)), InvalidArgumentError, "Adding duplicate key: x"),
        (lambda: save(run, root / "c2", {"v": HANDLE}), UnimplementedError,
         "v is a resource or variant tensor"),
        (lambda: save(run, root / "no/such/dir/c", {"x": f32(1)}), NotFoundError,
         f"{root / 'no/such/dir'}; No such file or directory"),
        (lambda: run("MergeV2Checkpoints", s([str(root / "gone").encode()]),
                     s(str(root / "m").encode()), delete_old_dirs=True,
                     allow_missing_files=False), InvalidArgumentError,
         f"allow_missing_files was set to false and {root / 'gone'} did not exist.NOT_FOUND: "
         f"{root / 'gone'} not found"),
        (lambda: run("MergeV2Checkpoints", s([str(root / "gone").encode()]),
                     s(str(root / "m").encode()), delete_old_dirs=True,
                     allow_missing_files=True), InvalidArgumentError,
         "At least one prefix checkpoint file must exist, but none existed."),
        (lambda: run("MergeV2Checkpoints", s([str(root / "ckpt").encode()] * 2),
                     s(str(root / "m").encode()), delete_old_dirs=True,
                     allow_missing_files=False), InvalidArgumentError,
         f"encountered, when merging prefix: {root / 'ckpt'}"),
    ]
    for call, error, message in cases:
        with pytest.raises(error) as caught:
            call()
        assert message in caught.value.message
    # Nothing half-written is left behind.
    assert sorted(os.listdir(root)) == ["ckpt.data-00000-of-00001", "ckpt.index"]


@dataclass(frozen=True)
class Program:
    """Steps in one allowed directory (``body(run, root)``), after ``before`` there."""

    name: str
    ops: frozenset[str]
    body: Callable[[Run, Path], None]
    before: Callable[[Run, Path], None] | None = None


FILE_OPS = frozenset({"SaveV2", "RestoreV2"})
PROGRAMS = [
    Program("every dtype", FILE_OPS, every_dtype),
    Program("parts of tensors saved whole", FILE_OPS, parts_of_a_tensor, every_dtype),
    Program("a client's sharded save", FILE_OPS | {"ShardedFilename", "MergeV2Checkpoints",
                                                   "DisableCopyOnRead"}, client_save),
    Program("two devices, a partitioned tensor", FILE_OPS | {"MergeV2Checkpoints"}, two_devices),
    Program("errors", FILE_OPS | {"MergeV2Checkpoints"}, errors),
]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_program(program: Program, tmp_path: Path) -> None:
    run = runner(tmp_path)
    if program.before is not None:
        program.before(run, tmp_path)
    program.body(run, tmp_path)


# --- TF's files ---------------------------------------------------------------------------


def expected_array(record: dict[str, Any]) -> np.ndarray:
    shape = tuple(record["shape"])
    if record["dtype"] == "string":
        return np.array([bytes.fromhex(x) for x in record["value"]] or [], dtype=object
                        ).reshape(shape)
    dtype = BF16 if record["dtype"] == "bfloat16" else np.dtype(record["dtype"])
    return np.frombuffer(bytes.fromhex(record["value"]), dtype.newbyteorder("<")
                         ).astype(dtype).reshape(shape)


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_reads_what_tf_wrote(prefix: str) -> None:
    run = runner(VECTORS)
    names = sorted(EXPECTED[prefix])
    wanted = [expected_array(EXPECTED[prefix][name]) for name in names]
    got = restore(run, VECTORS / prefix, names, [w.dtype for w in wanted])
    for value, want in zip(got, wanted, strict=True):
        same(value, want)


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_writes_what_tf_writes(prefix: str, tmp_path: Path) -> None:
    """The same tensors, saved in the order TF saved them (their data offsets) and in the
    same parts, make the same two files."""
    records = read_table((VECTORS / f"{prefix}.index").read_bytes(), prefix)[1:]
    entries = {key: BundleEntryProto.parse(value) for key, value in records}
    reader = BundleReader(str(VECTORS / prefix), FileRoot(VECTORS, "test"))
    # By offset, and an empty tensor before the one at its offset (written after it).
    saved: list[tuple[tuple[int, int], tuple[bytes, np.ndarray, Part]]] = []
    for key, entry in entries.items():
        if key.startswith(b"\0"):  # a part's own entry; its tensor's entry lists it
            continue
        if not entry.slices:
            saved.append(((entry.offset, entry.size), (key, reader.read(key), None)))
        for proto in entry.slices:
            part = ShapeAndSlice.from_proto(proto, decode_shape(entry.shape) or ())
            own = entries[slice_key(key, part.extents)]
            saved.append(((own.offset, own.size), (key, reader.read(key, part), part)))
    saved.sort(key=lambda pair: pair[0])
    write_bundle(str(tmp_path / prefix), [item for _, item in saved], FileRoot(tmp_path, "t"))
    for suffix in (".index", ".data-00000-of-00001"):
        ours, tfs = (directory / (prefix + suffix) for directory in (tmp_path, VECTORS))
        assert ours.read_bytes() == tfs.read_bytes(), suffix


def test_tables_of_many_blocks_round_trip() -> None:
    records = [(f"layer_{i:05d}/{'kernel' * 40}".encode(), bytes([i % 256]) * (i % 50))
               for i in range(3000)]
    data = write_table([(b"", b"header"), *records])
    assert len(data) > 2 * 256 * 1024  # three data blocks at least
    assert read_table(data, "t") == [(b"", b"header"), *records]


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: d[:-1], "not an sstable (bad magic number)"),
    (lambda d: d[:20], "file is too short to be an sstable"),
    (lambda d: d[:3] + bytes([d[3] ^ 1]) + d[4:], "block checksum mismatch"),
])
def test_a_damaged_table_is_data_loss(damage: Callable[[bytes], bytes], message: str) -> None:
    data = (VECTORS / "module-1.index").read_bytes()
    with pytest.raises(DataLossError) as caught:
        read_table(damage(data), "module-1.index")
    assert caught.value.message.startswith(f"module-1.index: {message}")


@pytest.mark.parametrize(("name", "message"), [
    ("f32", "Checksum does not match: stored"),
    ("text", "The length checksum does not match"),
])
def test_damaged_data_is_data_loss(name: str, message: str, tmp_path: Path) -> None:
    run = runner(tmp_path)
    save(run, tmp_path / "c", {"f32": f32([1, 2]), "text": s([b"ab", b"c"])})
    data = tmp_path / "c.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[0 if name == "f32" else 8] ^= 1  # a float's byte; the first string length
    data.write_bytes(bytes(raw))
    with pytest.raises(DataLossError, match=message):
        restore(run, tmp_path / "c", [name], [EVERY_DTYPE[name].dtype if name == "f32"
                                              else STRING])


@pytest.mark.parametrize("module", [bundle, checkpoint_ops, coding, files, slices, table],
                         ids=lambda m: m.__name__.rpartition(".")[2])
def test_doctests(module: ModuleType) -> None:
    failed, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0


def test_byte_encodings() -> None:
    assert [varint(n) for n in (0, 127, 128, 2**64 - 1)] == [
        b"\0", b"\x7f", b"\x80\x01", b"\xff" * 9 + b"\x01"]
    assert read_varint(b"\x80\x01rest", 0) == (128, 2)
    with pytest.raises(DataLossError):
        read_varint(b"\x80", 0)
    assert crc32c(b"123456789") == 0xE3069283  # the check value of CRC-32C
    assert crc32c(b"6789", crc32c(b"12345")) == crc32c(b"123456789")
    assert mask(0) == 0xA282EAD8 and unmask(mask(0xDEADBEEF)) == 0xDEADBEEF
    assert parse(b"300 1 100,200:-").text == "100,200:-"


# --- which files a client may use ---------------------------------------------------------


def test_only_paths_inside_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    (root / "c.index").symlink_to(outside / "c.index")
    run = runner(root)
    for prefix in (outside / "c", root / ".." / "outside" / "c", root / "link" / "c",
                   root / "c"):
        with pytest.raises(PermissionDeniedError, match="is outside"):
            save(run, prefix, {"x": f32(1)})
    assert os.listdir(outside) == []
    save(run, root / "sub" / "c", {"x": f32(1)})
    with pytest.raises(PermissionDeniedError, match="is outside"):
        run("MergeV2Checkpoints", s([str(root / "sub" / "c").encode()]),
            s(str(outside / "m").encode()), delete_old_dirs=True, allow_missing_files=False)
    with pytest.raises(PermissionDeniedError, match=NO_ROOT):
        restore(runner(None), root / "sub" / "c", ["x"], [F32])
    same(restore(run, root / "sub" / "c", ["x"], [F32])[0], f32(1))


def test_the_cli_flag_takes_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        cli_main(["serve", "--allow-file-io", str(tmp_path / "missing")])
    assert caught.value.code == 2


async def test_a_server_saves_and_restores_only_when_allowed(tmp_path: Path) -> None:
    prefix = str(tmp_path / "ckpt").encode()
    items = [
        op(1, "SaveV2", s(prefix), s([b"w"]), s([b""]), f32([1, 2])),
        op(-1, "RestoreV2", s(prefix), s([b"w"]), s([b""]), attrs={"dtypes": [F32]}),
    ]
    options = RuntimeOptions(file_root=tmp_path)
    async with EagerServer("127.0.0.1", 0, threads=2, options=options) as server:
        channel = Channel("127.0.0.1", server.port)
        try:
            stub = pb.EagerServiceStub(channel)
            await stub.create_context(create(5))
            reply = await stub.enqueue(enqueue(5, *items))
            same(decode_tensor(reply.queue_response[1].tensor[0]), f32([1, 2]))
        finally:
            channel.close()
    async with EagerServer("127.0.0.1", 0, threads=2) as server:
        channel = Channel("127.0.0.1", server.port)
        try:
            stub = pb.EagerServiceStub(channel)
            for context, is_async in ((6, False), (7, True)):  # async: refused when enqueued
                await stub.create_context(create(context, is_async=is_async))
                with pytest.raises(GRPCError) as caught:
                    await stub.enqueue(enqueue(context, items[0]))
                assert caught.value.status == Status.PERMISSION_DENIED
                assert NO_ROOT in (caught.value.message or "")
        finally:
            channel.close()
    assert sorted(os.listdir(tmp_path)) == ["ckpt.data-00000-of-00001", "ckpt.index"]
