"""``make conformance``: every registered op on eager_async against TensorFlow 2.21 itself.

Runs in ``.venv``; TensorFlow runs in ``.venv-tf`` as a subprocess (``tf_side.py``), the
two exchanging pickles of plain values (``transport.py``)::

    .venv/bin/python tests/conformance/run.py --json bench-results/conformance.json

1. Ask TF for the op definitions of the registered ops (``tf_side.py signatures``).
2. Build the cases: every kernel record plus generated variants (``cases.py``).
3. Run them on TF (``tf_side.py run``). If TF aborts on a case (a C++ CHECK failure
   kills the process) that case is answered UNAVAILABLE, as a remote caller of a
   crashed worker would see it, and TF restarts after it.
4. Run them on eager_async and compare (``compare.py``).
5. Print the agreement rate overall and per op, and every difference; write it all,
   with the message pairs of calls both sides rejected, as JSON.

The exit status is 0 whatever the differences (this is a report); 1 when the harness
itself fails (TF cannot start, ``tf_side.py`` raises, too many TF aborts).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

import cases  # noqa: E402
import compare  # noqa: E402
from transport import (  # noqa: E402
    Outcome,
    Signature,
    describe,
    error,
    has_resource,
    read_records,
    write_cases,
)

from eager_async.kernels import lookup, registered_ops  # noqa: E402

TF_SIDE = HERE / "tf_side.py"
MAX_TF_ABORTS = 50


class HarnessError(Exception):
    """The harness itself failed (not a difference between eager_async and TF)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the full report here")
    parser.add_argument("--tf-python", type=Path, default=ROOT / ".venv-tf" / "bin" / "python",
                        help="the interpreter of the TensorFlow venv")
    parser.add_argument("--max-cases", type=int, default=5000,
                        help="records plus generated variants, at most (records always run)")
    parser.add_argument("--ops", nargs="+", metavar="OP", help="only these ops")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds one TF process may run before it counts as hung")
    parser.add_argument("--onednn", action="store_true",
                        help="keep TF's oneDNN kernels on (x86 default); off by default, "
                        "so TF's reference Eigen kernels answer")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        report = conform(args)
    except HarnessError as exc:
        print(f"conformance harness failed: {exc}", file=sys.stderr)
        return 1
    report["seconds"] = round(time.perf_counter() - started, 1)
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
        print(f"\nwritten to {args.json}")
    return 0


def conform(args: argparse.Namespace) -> dict[str, Any]:
    """Run everything; the report as a JSON-ready dict."""
    if not args.tf_python.exists():
        raise HarnessError(f"{args.tf_python} not found; run `make .venv-tf/.installed`")
    tf = TensorFlow(args.tf_python, args.onednn)
    records, broken = cases.load_records(ROOT / "tests")
    ops = sorted(set(registered_ops()) | {call.op for call in records})
    if args.ops:
        wanted = set(args.ops)
        # A program stays whole: its steps refer to each other by position.
        programs = {call.program for call in records if call.program and call.op in wanted}
        records = [call for call in records
                   if call.op in wanted or (call.program and call.program in programs)]
        ops = sorted({call.op for call in records} | (wanted & set(ops)))
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        tmp = Path(scratch)
        version, signatures = tf_signatures(tf, ops, tmp)
        calls, skipped, left_out = cases.build(records, signatures, args.max_cases)
        write_cases(tmp / "cases.pkl", cases.to_wire(calls))
        theirs = run_tf(tf, tmp, len(calls), args.timeout)
    ours = compare.run_ours(calls)
    random = {op for op in ops if is_random(op, signatures.get(op))}
    verdicts = [compare.compare(o, compare.decode_outcome(t), random=call.op in random)
                for call, o, t in zip(calls, ours, theirs, strict=True)]
    report = summarise(version, ops, calls, skipped, ours, theirs, verdicts, random)
    report["onednn"] = args.onednn
    report["variants_left_out"] = left_out
    report["tables_not_loaded"] = broken
    return report


@dataclass(frozen=True)
class TensorFlow:
    """How to start ``tf_side.py``: the TF venv's interpreter and the environment.

    oneDNN is off unless asked for: its kernels are not TF's reference semantics (they
    round differently and, in 2.21, give Conv2D on 0-size inputs wrong output shapes).
    """

    python: Path
    onednn: bool = False

    def run(self, *args: Any, log: Path, timeout: float | None = None) -> int:
        """Run ``tf_side.py args``, its output appended to ``log``; the exit status
        (negative: the signal that killed it)."""
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_ENABLE_ONEDNN_OPTS": "1" if self.onednn else "0"}
        with log.open("ab") as out:
            completed = subprocess.run([str(self.python), str(TF_SIDE), *map(str, args)],
                                       stdout=out, stderr=subprocess.STDOUT,
                                       timeout=timeout, check=False, env=env)
        return completed.returncode


def tf_signatures(
    tf: TensorFlow, ops: Sequence[str], tmp: Path
) -> tuple[str, dict[str, Signature | None]]:
    """TF's version and the op definitions of ``ops`` (None for ops TF lacks)."""
    with (tmp / "ops.pkl").open("wb") as file:
        pickle.dump(list(ops), file)
    log = tmp / "signatures.log"
    if tf.run("signatures", tmp / "ops.pkl", tmp / "sigs.pkl", log=log) != 0:
        raise HarnessError(f"tf_side.py signatures failed:\n{_tail(log)}")
    with (tmp / "sigs.pkl").open("rb") as file:
        found = pickle.load(file)
    return found["version"], found["signatures"]


def run_tf(tf: TensorFlow, tmp: Path, total: int, timeout: float) -> list[Outcome]:
    """TF's outcome for every case, restarting TF after a case that aborts it."""
    outcomes: dict[int, Outcome] = {}
    start, aborts = 0, 0
    while start < total:
        results, log = tmp / f"results-{aborts}.pkl", tmp / f"tf-{aborts}.log"
        try:
            status = tf.run("run", tmp / "cases.pkl", results, "--start", start, log=log,
                            timeout=timeout)
        except subprocess.TimeoutExpired:
            status = None
        for record in read_records(results):
            outcomes[record["index"]] = record["outcome"]
        stuck = next((i for i in range(start, total) if i not in outcomes), total)
        if stuck == total:
            break
        if status is not None and status >= 0:
            # Not killed by a signal: tf_side.py itself failed, which is a harness bug.
            raise HarnessError(f"tf_side.py run exited with {status} at case {stuck}:\n"
                               f"{_tail(log)}")
        aborts += 1
        if aborts > MAX_TF_ABORTS:
            raise HarnessError(f"TensorFlow aborted more than {MAX_TF_ABORTS} times")
        outcomes[stuck] = {**(
            error("DEADLINE_EXCEEDED", f"TensorFlow ran over {timeout:.0f} s (hung?)")
            if status is None else
            error("UNAVAILABLE", f"TensorFlow aborted (signal {-status}): {_fatal(log)}")),
            "aborted": True}
        start = stuck + 1
    return [outcomes[i] for i in range(total)]


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _fatal(log: Path) -> str:
    """The line of TF's log that says why it aborted."""
    text = log.read_text(errors="replace").splitlines()
    fatal = [line for line in text if "Check failed" in line or line.startswith("F0000")]
    return (fatal or text[-1:] or ["(no log)"])[-1].strip()


# Random ops whose values are TF's bit for bit, compared exactly: the stateless ones,
# and the stateful ones of ``random_ops``, whose instances move through their streams
# from call to call on both sides alike (one context each, the same calls in order).
EXACT_RANDOM = frozenset({
    "RandomShuffle", "RandomStandardNormal", "RandomUniform", "RandomUniformInt",
    "StatefulRandomBinomial", "TruncatedNormal",
})


def is_random(op: str, signature: Signature | None) -> bool:
    """Random ops are compared by dtype and shape only: "Random" in the name, or stateful
    in our registry without touching a resource (TruncatedNormal, not AssignVariableOp),
    unless ``EXACT_RANDOM`` or stateless."""
    if op in EXACT_RANDOM or op.startswith("Stateless"):
        return False
    if "Random" in op:
        return True
    try:
        stateful = lookup(op).stateful
    except Exception:  # not registered: not ours to classify
        return False
    return stateful and not (signature is not None and has_resource(signature))


def summarise(
    version: str, ops: Sequence[str], calls: Sequence[cases.Call],
    skipped: Sequence[tuple[cases.Call, str]], ours: Sequence[Outcome],
    theirs: Sequence[Outcome], verdicts: Sequence[compare.Verdict], random: set[str],
) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
    per_op: dict[str, dict[str, Any]] = {}
    for op in ops:
        per_op[op] = {"cases": 0, "agree": 0, "random": op in random}
    differences, message_pairs = [], []
    for call, mine, tf, verdict in zip(calls, ours, theirs, verdicts, strict=True):
        stats = per_op.setdefault(call.op, {"cases": 0, "agree": 0, "random": False})
        stats["cases"] += 1
        stats["agree"] += verdict.agree
        row = {"op": call.op, "case": call.name, "kind": call.kind, "inputs": describe(
            [c if not isinstance(c, cases.Ref) else {"__ref__": [c.step, c.output]}
             for c in call.inputs]), "attrs": _attrs(call.attrs)}
        if not verdict.agree:
            differences.append({**row, "difference": verdict.kind, "ours": verdict.ours,
                                "tf": verdict.theirs, "pattern": f"{verdict.kind}: ours "
                                f"{_status(mine)}, TF {_status(tf)}"})
        pair = compare.messages(mine, tf)
        if pair is not None:
            message_pairs.append({**row, "status": tf["error"]["status"], "agree": verdict.agree,
                                  **{side: text[:400] for side, text in pair.items()}})
    for stats in per_op.values():
        stats["rate"] = round(stats["agree"] / stats["cases"], 4) if stats["cases"] else None
    agree = sum(v.agree for v in verdicts)
    return {
        "tensorflow": version,
        "cases": len(calls),
        "agree": agree,
        "rate": round(agree / len(calls), 4) if calls else None,
        "ops": len(per_op),
        "by_source": dict(Counter(call.kind for call in calls)),
        "by_difference": dict(Counter(d["difference"] for d in differences).most_common()),
        "patterns": _patterns(differences),
        "per_op": per_op,
        "ops_without_cases": sorted(op for op, s in per_op.items() if not s["cases"]),
        "skipped": [{"op": call.op, "case": call.name, "reason": reason}
                    for call, reason in skipped],
        "differences": differences,
        "both_rejected": message_pairs,
    }


def _status(outcome: Outcome) -> str:
    return outcome["error"]["status"] if "error" in outcome else "OK"


def _patterns(differences: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Differences grouped by kind and the two statuses, largest group first."""
    groups: dict[str, list[str]] = {}
    for row in differences:
        groups.setdefault(row["pattern"], []).append(row["op"])
    return [{"pattern": pattern, "calls": len(ops), "ops": dict(Counter(ops).most_common())}
            for pattern, ops in sorted(groups.items(), key=lambda item: -len(item[1]))]


def _attrs(attrs: Any) -> str:
    text = ", ".join(f"{key}={value!r}" for key, value in attrs.items())
    return text if len(text) <= 80 else text[:77] + "..."


def print_report(report: dict[str, Any]) -> None:
    """The report as text tables on stdout."""
    rate = report["rate"] or 0.0
    engine = " (oneDNN on)" if report["onednn"] else ""
    print(f"Conformance against TensorFlow {report['tensorflow']}{engine}: {report['agree']}/"
          f"{report['cases']} calls agree ({rate:.1%}) over {report['ops']} ops, "
          f"in {report['seconds']} s")
    print("  calls by source: " + ", ".join(f"{k} {v}" for k, v in report["by_source"].items())
          + f" (variants over --max-cases, left out: {report['variants_left_out']})")
    if report["by_difference"]:
        print("  differences by kind: "
              + ", ".join(f"{k} {v}" for k, v in report["by_difference"].items()))
    if report["skipped"]:
        print(f"  skipped (not transportable to TF): {len(report['skipped'])}")
    for table, problem in report["tables_not_loaded"].items():
        print(f"  NOT LOADED: {table}: {problem}")
    if report["ops_without_cases"]:
        print("  registered ops without records: " + ", ".join(report["ops_without_cases"]))

    ranked = sorted(((op, s) for op, s in report["per_op"].items() if s["cases"]),
                    key=lambda item: (item[1]["rate"], item[0]))
    print(f"\nPer op (worst first){'':18}agree/calls   rate")
    for op, stats in ranked:
        if stats["agree"] < stats["cases"]:
            mark = "  (random: dtype/shape only)" if stats["random"] else ""
            print(f"  {op:36} {stats['agree']:5}/{stats['cases']:<5} {stats['rate']:7.1%}{mark}")
    perfect = [op for op, stats in ranked if stats["agree"] == stats["cases"]]
    if perfect:
        print(textwrap.fill(f"  100%: {', '.join(sorted(perfect))}", width=100,
                            subsequent_indent="        "))

    if report["patterns"]:
        print("\nDifferences by pattern (calls: ops)")
        for group in report["patterns"]:
            ops = ", ".join(f"{op} {n}" for op, n in group["ops"].items())
            print(textwrap.fill(f"  {group['calls']:4} {group['pattern']}: {ops}", width=100,
                                subsequent_indent=" " * 7))
    if report["differences"]:
        print(f"\nDifferences ({len(report['differences'])}):")
        header = f"  {'op':22} {'case':44} {'inputs':28} {'difference':14} ours | TF"
        print(header)
        for row in report["differences"]:
            print(f"  {row['op']:22.22} {row['case']:44.44} {row['inputs']:28.28} "
                  f"{row['difference']:14} {_clip(row['ours'])} | {_clip(row['tf'])}")


def _clip(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
