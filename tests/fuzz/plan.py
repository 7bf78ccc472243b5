"""Which cases a run sends, in which order: the short fixed run of ``make test`` and the
endless mix of the long run.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence

from .corpus import Seed
from .generators import Case, MutationSource, all_ops, op_case, op_cases, random_case
from .hostile import hostile_cases
from .mutate import Mutator

# Ops the short run always sends (the hostile list's families); the rest are sampled.
ALWAYS = ["Fill", "Tile", "Range", "OneHot", "BroadcastTo", "Conv2D", "While", "Reshape",
          "_Recv", "StringJoin", "PartitionedCall", "RangeDataset", "VarHandleOp"]


def short(seed: int, seeds: Sequence[Seed], *, ops: int = 110, randoms: int = 80,
          mutations: int = 220) -> list[Case]:
    """The run of ``tests/test_fuzz.py``: the hostile list (its short form), a sample of
    ops, random bytes and mutations, all drawn from ``seed``."""
    rng = random.Random(seed)
    names = all_ops()
    sample = [n for n in ALWAYS if n in names]
    sample += rng.sample([n for n in names if n not in sample], max(0, ops - len(sample)))
    source = MutationSource(seeds)
    cases = [*hostile_cases(full=False), *op_cases(rng, sample)]
    cases += [random_case(rng, i) for i in range(randoms)]
    cases += [source.case(rng, i) for i in range(mutations)]
    return cases


def endless(seed: int, seeds: Sequence[Seed], external: Mutator | None = None
            ) -> Iterator[Case]:
    """The long run: the whole hostile list, every op once (a third with hostile attrs),
    then a mix drawn without end: mutations 45%, ops 25% (hostile attrs half the time),
    random bytes 25%, and now and then the hostile list's structured cases again."""
    rng = random.Random(seed)
    names = all_ops()
    source = MutationSource(seeds, external)
    yield from hostile_cases()
    yield from op_cases(rng, names)
    # Repeated now and then: the structured cases, but not those that take tens of seconds
    # by design (the largest tensors, a keep-alive expiry).
    slow = ("wrong wire", "10^7", "1e9", "huge repeated", "keep_alive")
    structured = [c for c in hostile_cases()
                  if not any(word in c.name for word in slow)]
    for index in itertools.count():
        roll = rng.random()
        if roll < 0.45:
            yield source.case(rng, index)
        elif roll < 0.70:
            yield op_case(rng, rng.choice(names), hostile=rng.random() < 0.5)
        elif roll < 0.95:
            yield random_case(rng, index)
        else:
            yield rng.choice(structured)
