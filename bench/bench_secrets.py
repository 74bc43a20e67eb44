"""
Benchmark: a sheet's secrets hidden in its problems (``check.sheet_secrets.hidden``, message
and value), as first written and now, in one process (not part of the tests).

    uv run python bench/bench_secrets.py     # 5,000 x 50,000, 50 x 500, 100,000 x 100
    uv run python bench/bench_secrets.py --repeats 5 --sample 5000
    uv run python bench/bench_secrets.py --sample 0          # the old way on every problem

As first written (``tests/model/test_secrets.py``'s ``hides_before``, kept as the tests'
reference), each text costs a sort of the table and one ``str.replace`` per secret: some
3 ms a text with 5,000 secrets, over 4 minutes for the sheet-sized case. So on that case
the old way hides an evenly spread sample of the problems (``--sample``, 0 for all of
them) and its column gives the sample's seconds scaled to every problem; the new way
always hides them all, the table's automaton built in the time, as a load builds it.

The third case is a sheet of per-camera passwords with few problems: a table too large to
build an automaton of for so few texts (``loader.model.secrets._SLICES_PER_VALUE``).

The secrets are stream passwords (8 to 12 lower-case letters and digits, none of which can
occur inside a reference, where the old way was not well defined); half the problems quote
an address holding one, in the message and the value (a ``bad-stream_url``), half quote no
secret (a ``bad-coordinates``). The two ways alternate, repeat after repeat; each row gives
the medians and checks that both hid the problems they both hid alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import statistics
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loader.check.sheet_secrets import hidden  # noqa: E402  # after the path is set
from loader.model.problems import Problem, Severity  # noqa: E402
from loader.model.secrets import SecretTable  # noqa: E402
from tests.model.test_secrets import hides_before  # noqa: E402

Hide = Callable[[Problem, SecretTable], Problem]


def hidden_before(problem: Problem, secrets: SecretTable) -> Problem:
    """``hidden`` as first written: message and value through the old replacements."""
    return dataclasses.replace(
        problem,
        message=hides_before(secrets, problem.message),
        value=hides_before(secrets, problem.value),
    )


def sheet(secrets: int, problems: int, seed: int = 24) -> tuple[list[str], list[Problem]]:
    """Distinct stream passwords, and the problems of a sheet quoting them (see above)."""
    rnd = random.Random(seed)
    alphabet = string.ascii_lowercase + string.digits
    passwords: dict[str, None] = {}
    while len(passwords) < secrets:
        passwords["".join(rnd.choices(alphabet, k=rnd.randint(8, 12)))] = None
    chosen = list(passwords)
    made = []
    for row in range(2, problems + 2):
        if row % 2:
            latitude = f"{90 + row % 9}.{row % 97}"
            message = f"latitude {latitude!r} must be a number from -90 to 90"
            made.append(_problem(row, "bad-coordinates", message, "latitude", latitude))
        else:
            password = chosen[row % len(chosen)]
            address = f"rtsp://admin:{password}@10.{row % 251}.{row % 253}.7:554/ch 1"
            message = f"stream address {address!r} holds spaces"
            made.append(_problem(row, "bad-stream_url", message, "stream_url", address))
    return chosen, made


def _problem(row: int, code: str, message: str, column: str, value: str) -> Problem:
    """An error of the sheet's ``row``."""
    return Problem(Severity.ERROR, code, message, "", "cameras.xlsx", "Cameras", row, column, value)


def timed(hide: Hide, values: list[str], problems: list[Problem]) -> tuple[float, list[Problem]]:
    """Seconds to hide the problems with a table of ``values`` made afresh (not timed)."""
    table = SecretTable()
    for value in values:
        table.refer(value)
    began = time.perf_counter()
    done = [hide(problem, table) for problem in problems]
    return time.perf_counter() - began, done


def case(values: list[str], problems: list[Problem], sample: int, repeats: int) -> list[str]:
    """One row: the old way (on the sample, scaled) and the new, alternating."""
    step = max(1, len(problems) // sample) if sample else 1
    sampled = problems[::step]
    before: list[float] = []
    after: list[float] = []
    same = True
    for _ in range(repeats):
        seconds, old = timed(hidden_before, values, sampled)
        before.append(seconds * len(problems) / len(sampled))
        seconds, new = timed(hidden, values, problems)
        after.append(seconds)
        same = same and old == new[::step]
    old_median, new_median = statistics.median(before), statistics.median(after)
    return [
        f"{len(values):,}",
        f"{len(problems):,}",
        f"{len(sampled):,}",
        f"{old_median:.3f}",
        f"{new_median:.3f}",
        f"{new_median / len(problems) * 1e6:.1f}",
        f"{old_median / new_median:,.0f}x",
        "yes" if same else "NO",
    ]


def main() -> None:
    """Both cases, as a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secrets", type=int, default=5_000)
    parser.add_argument("--problems", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=2_000, help="0: every problem")
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    cases = [
        (arguments.secrets, arguments.problems, arguments.sample),
        (50, 500, 0),
        (100_000, 100, 0),
    ]
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print()
    print(
        "| secrets | problems | old way on | before s | after s | after µs each | speed-up | same |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for secrets, problems, sample in cases:
        values, made = sheet(secrets, problems)
        row = case(values, made, sample, arguments.repeats)
        print("| " + " | ".join(row) + " |", flush=True)
    print(f"\nload after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
