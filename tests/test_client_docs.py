"""docs/client.md is the client's reference: every ```python block in it is a program
that runs against a real worker (each starts one in its process) and prints exactly the
```text block that follows it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "client.md"
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.DOTALL)


def examples() -> list[tuple[str, str]]:
    """Each python block of the doc, with the text block after it (its output)."""
    blocks = BLOCK.findall(DOC.read_text())
    pairs = []
    for index, (kind, body) in enumerate(blocks):
        if kind != "python":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        assert following[0] == "text", f"python block {len(pairs) + 1} has no output block"
        pairs.append((body, following[1]))
    return pairs


EXAMPLES = examples()


def test_the_doc_has_an_example_per_section() -> None:
    sections = re.findall(r"^## (.+)$", DOC.read_text(), re.MULTILINE)
    assert len(EXAMPLES) >= 9 and len(sections) >= 9


@pytest.mark.parametrize(("program", "expected"), EXAMPLES,
                         ids=[f"example-{n + 1}" for n in range(len(EXAMPLES))])
def test_an_example_prints_what_the_doc_says(program: str, expected: str) -> None:
    run = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.rstrip().splitlines() == expected.rstrip().splitlines()
