"""The stateless random ops against TensorFlow 2.21's own outputs and errors, bit for bit.

The vectors (``tests/vectors/stateless_random.json``) were written by
``tests/conformance/stateless_random_vectors.py`` running TF 2.21 on CPU: each case's
outputs as sha256 digests of their bytes (and the bytes themselves when small), so one
flipped bit fails; each error as TF's status code and message. ``CASES`` and ``ERRORS``
are the small cases and the errors as ``kernel_records`` tables.
"""

from __future__ import annotations

import doctest
import hashlib
import json
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from kernel_records import Bad, Case

from eager_async.errors import EagerError, NotFoundError, StatusCode
from eager_async.kernels import TensorSpec, lookup, philox, stateless_random

VECTORS = json.loads((Path(__file__).parent / "vectors" / "stateless_random.json").read_text())
OPS = sorted(
    name
    for name in dir(stateless_random)
    if name.startswith("stateless_") and callable(getattr(stateless_random, name))
)


def dtype(name: str) -> np.dtype:
    return np.dtype(ml_dtypes.bfloat16 if name == "bfloat16" else name)


def array(spec: dict[str, Any]) -> np.ndarray:
    return np.array(spec["values"], dtype(spec["dtype"])).reshape(spec["shape"])


def attrs(record: dict[str, Any]) -> dict[str, Any]:
    return {name: dtype(value) for name, value in record["attrs"].items()}


def inputs(record: dict[str, Any]) -> list[np.ndarray]:
    return [array(spec) for spec in record["inputs"]]


def record_id(record: dict[str, Any]) -> str:
    shapes = ",".join(str(spec["shape"]) for spec in record["inputs"])
    return f"{record['op']}{record['attrs'].get('dtype', '')}({shapes})"


def le_bytes(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"))).tobytes()


@pytest.mark.parametrize("record", VECTORS["cases"], ids=record_id)
def test_outputs_are_tensorflows_bits(record: dict[str, Any]) -> None:
    spec = lookup(record["op"])
    outputs = spec.run(inputs(record), attrs(record))
    assert len(outputs) == len(record["outputs"])
    for got, want in zip(outputs, record["outputs"], strict=True):
        assert (got.dtype, list(got.shape)) == (dtype(want["dtype"]), want["shape"])
        data = le_bytes(got)
        if "hex" in want:
            assert data.hex() == want["hex"]
        else:
            assert data[: len(want["head_hex"]) // 2].hex() == want["head_hex"]
        assert hashlib.sha256(data).hexdigest() == want["sha256"]
    specs = [TensorSpec(a.dtype, a.shape, a) for a in inputs(record)]
    inferred = spec.shapes(specs, attrs(record))
    assert [(s.dtype, s.shape) for s in inferred] == [(o.dtype, o.shape) for o in outputs]


@pytest.mark.parametrize("record", VECTORS["errors"], ids=record_id)
def test_errors_are_tensorflows(record: dict[str, Any]) -> None:
    """The shape rule (every value known) and the kernel fail as TF's kernel does."""
    spec = lookup(record["op"])
    specs = [TensorSpec(a.dtype, a.shape, a) for a in inputs(record)]
    for attempt in (lambda: spec.shapes(specs, attrs(record)),
                    lambda: spec.run(inputs(record), attrs(record))):  # fmt: skip
        with pytest.raises(EagerError) as raised:
            attempt()
        assert (raised.value.code, raised.value.message) == (record["code"], record["message"])


def test_every_op_has_vectors() -> None:
    registered = {lookup(name).kernel for name in {r["op"] for r in VECTORS["cases"]}}
    assert {getattr(stateless_random, name) for name in OPS} == registered
    failing = {r["op"] for r in VECTORS["errors"]}
    assert {r["op"] for r in VECTORS["cases"]} - failing == {"StatelessRandomGetAlg"}


def _chunks(values: np.ndarray, fn: Any) -> list[np.ndarray]:
    return [fn(values[i : i + (1 << 16)]) for i in range(0, values.size, 1 << 16)]


def test_logf_and_sincosf_are_glibcs_on_every_box_muller_input() -> None:
    """TF's float Box-Muller calls the C library's logf and sincosf on at most 2**23
    distinct values each; the reimplementation matches glibc's results on all of them."""
    unit = philox._unit_f32(np.arange(2**23, dtype=np.uint32))
    radii = np.maximum(unit, np.float32(1e-7))
    angles = (2 * np.pi * unit.astype(np.float64)).astype(np.float32)
    libm = VECTORS["libm"]
    logs = np.concatenate(_chunks(radii, philox._logf))
    assert hashlib.sha256(logs.tobytes()).hexdigest() == libm["logf_of_max_unit_1e-7"]
    sines, cosines = zip(*_chunks(angles, philox._sincosf), strict=True)
    digests = {name: hashlib.sha256(np.concatenate(parts).tobytes()).hexdigest()
               for name, parts in (("sin", sines), ("cos", cosines))}  # fmt: skip
    assert digests == libm["sincosf_of_2pi_unit"]


KEY, COUNTER, ALG = np.array([5], np.uint64), np.array([1, 2], np.uint64), np.array(1, np.int32)
F32 = {"dtype": np.dtype(np.float32)}


def test_a_philox_counter_of_one_word_is_refused() -> None:
    """TF reads the missing counter word from past the end of the tensor (its values
    change from run to run), so there is nothing to be identical to."""
    short = np.array([7], np.uint64)
    spec = lookup("StatelessRandomNormalV2")
    with pytest.raises(EagerError, match="counter must have 2 elements") as raised:
        spec.run([np.array([3], np.int32), KEY, short, ALG], F32)
    assert raised.value.code == StatusCode.INVALID_ARGUMENT
    (empty,) = spec.run([np.array([0], np.int32), KEY, short, ALG], F32)
    assert empty.shape == (0,)


def test_uniform_int_has_no_cpu_kernel_for_unsigned_types() -> None:
    u32 = np.dtype(np.uint32)
    bounds = [np.array(1, u32), np.array(5, u32)]
    with pytest.raises(NotFoundError):
        lookup("StatelessRandomUniformIntV2").run([np.array([3], np.int32), KEY, COUNTER, ALG,
                                                   *bounds], {})  # fmt: skip


def test_shape_rules_with_unknown_values() -> None:
    uniform = lookup("StatelessRandomUniformV2")
    unknown = [TensorSpec(np.dtype(np.uint64), (1,)), TensorSpec(np.dtype(np.uint64), (2,)),
               TensorSpec(np.dtype(np.int32), ())]  # fmt: skip
    (out,) = uniform.shapes([TensorSpec(np.dtype(np.int32), (3,)), *unknown], F32)
    assert out.shape == (-1, -1, -1)
    (out,) = uniform.shapes([TensorSpec(np.dtype(np.int64), None), *unknown], F32)
    assert out.shape is None
    # With the shape unknown, an unsupported algorithm waits for the kernel: an empty
    # output would not fail.
    alg2 = TensorSpec(np.dtype(np.int32), (), np.array(2, np.int32))
    (out,) = uniform.shapes([TensorSpec(np.dtype(np.int32), (2,)), *unknown[:2], alg2], F32)
    assert out.shape == (-1, -1)
    key, counter = lookup("StatelessRandomGetKeyCounter").shapes(
        [TensorSpec(np.dtype(np.int64), (-1,))], {}
    )
    assert (key.shape, counter.shape) == ((1,), (2,))


def test_kernels_are_callable_alone() -> None:
    key, counter = stateless_random.stateless_random_get_key_counter(np.array([1, 2]))
    out = stateless_random.stateless_truncated_normal_v2(
        np.array([2, 3]), key, counter, ALG, dtype=np.dtype(np.float64)
    )
    assert out.shape == (2, 3) and np.all(np.abs(out) < 2)
    seeded = stateless_random.stateless_truncated_normal(
        np.array([2, 3]), np.array([1, 2]), dtype=np.dtype(np.float64)
    )
    assert np.array_equal(out, seeded)


@pytest.mark.parametrize("module", [philox, stateless_random], ids=lambda m: m.__name__)
def test_doctests(module: Any) -> None:
    failed, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0


# --- the small cases and the errors as kernel_records tables (test_kernel_tables.py) ---


def _expected(want: dict[str, Any]) -> np.ndarray:
    raw = np.frombuffer(bytes.fromhex(want["hex"]), dtype(want["dtype"]).newbyteorder("<"))
    return raw.astype(dtype(want["dtype"])).reshape(want["shape"])


CASES = [
    Case(
        r["op"],
        tuple(inputs(r)),
        tuple(_expected(o) for o in r["outputs"]),
        attrs(r),
        name=record_id(r),
    )
    for r in VECTORS["cases"]
    if all("hex" in o for o in r["outputs"])
]
ERRORS = [Bad(r["op"], tuple(inputs(r)), r["message"], attrs(r)) for r in VECTORS["errors"]] + [
    # StatelessRandomGetAlg takes no inputs, so only the op contract can refuse a call.
    Bad("StatelessRandomGetAlg", (np.array(1, np.int32),), "do not match 1 inputs specified"),
]
