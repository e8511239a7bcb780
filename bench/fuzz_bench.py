"""The fuzz suite on a long budget: how many requests were tried, how many got a 5xx.

    python bench/fuzz_bench.py [N] [--jobs CPUS] [--batch 2000] [--stateful 0.02] [--show 5]

Sends ``N`` requests (default 1,000,000) drawn from the strategies of tests/fuzz (every
route, every rendering, hostile headers, query arguments and bodies) to the real app in
memory, as tests/fuzz/test_routes.py does -- but does not stop at the first 5xx: it counts
them, sorts them by known defect (tests/fuzz/known.py) and shows the first few new ones.
``--stateful`` is the share of the budget spent in sequences of the stateful machine
(tests/fuzz/test_stateful.py), counted by the requests they send.  Hypothesis runs in
batches (a fresh search each, with a seed of its own) so that its memory of what it tried
stays bounded, spread over ``--jobs`` processes.

The goal is 0 in 1,000,000.  Beside the rate, a baseline measured in the same run: the rate
of one plain ``GET /-/`` through the same harness (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.fuzz.known import DELIBERATE, knownDefectOf  # noqa: E402
from tests.fuzz.space import requests  # noqa: E402
from tests.fuzz.world import Answer, Request, World  # noqa: E402


class Tally:
    """Requests tried and 5xx found, by known defect; the first new ones kept to show."""

    def __init__(self, show: int) -> None:
        self.tried = 0
        self.found: Counter[str] = Counter()
        self.new: list[str] = []
        self.show = show

    def count(self, request: Request | None, answer: Answer) -> None:
        self.tried += 1
        if answer.code < 500 or answer.code in DELIBERATE:
            return
        known = knownDefectOf(answer.failures)
        self.found[known.name if known else "new"] += 1
        if known is None and len(self.new) < self.show:
            last = answer.failures[-1].getErrorMessage() if answer.failures else "no failure"
            sent = repr(request) if request is not None else "(a step of the stateful machine)"
            self.new.append(f"{answer.code} {last[:200]}\n    {sent:.600}")

    @property
    def fiveHundreds(self) -> int:
        return sum(self.found.values())

    def add(self, other: Tally) -> None:
        self.tried += other.tried
        self.found.update(other.found)
        self.new.extend(other.new[:max(0, self.show - len(self.new))])


def routes(template: World, tally: Tally, examples: int, seedValue: int) -> None:
    """One batch of the route property, counting instead of failing."""
    state: dict[str, World | None] = {"world": None}

    @seed(seedValue)
    @settings(max_examples=examples, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(request=requests(template))
    def batch(request: Request) -> None:
        world = state["world"] or World.seeded()
        answer = world.send(request)
        changed = request.method not in (b"GET", b"HEAD") and not 400 <= answer.code < 500
        state["world"] = None if changed else world
        tally.count(request, answer)

    batch()


def stateful(tally: Tally, runs: int, seedValue: int) -> None:
    """Sequences of the stateful machine, each answer counted instead of checked."""
    from tests.fuzz import test_stateful

    machine = test_stateful.Server
    checked = test_stateful.checkAnswer
    test_stateful.checkAnswer = lambda answer: tally.count(None, answer)
    try:
        machine.TestCase.settings = settings(
            max_examples=runs, stateful_step_count=25, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        # The seed goes on the test function, not on a bound method (which takes no
        # attributes); the function is this worker's own copy of the class's.
        seed(seedValue)(machine.TestCase.runTest)
        machine.TestCase("runTest").runTest()
    finally:
        test_stateful.checkAnswer = checked


def baseline(world: World, seconds: float = 2.0) -> float:
    """Plain GETs of the query interface per second, through the same harness."""
    plain = Request(b"GET", b"/-/", ((b"Accept", b"text/plain"),))
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        world.send(plain)
        done += 1
    return done / (time.perf_counter() - started)


_TEMPLATE: World | None = None


def batch(examples: int, statefulRuns: int, seedValue: int, show: int) -> Tally:
    """One batch, in a worker process: route examples, then stateful runs."""
    global _TEMPLATE  # noqa: PLW0603 -- one template per worker process
    if _TEMPLATE is None:
        _TEMPLATE = World.seeded(renderings=True)
    tally = Tally(show)
    routes(_TEMPLATE, tally, examples, seedValue)
    if statefulRuns:
        stateful(tally, statefulRuns, seedValue)
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("examples", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--stateful", type=float, default=0.02,
                        help="share of the budget spent in stateful sequences")
    parser.add_argument("--show", type=int, default=5)
    parser.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "big"))
    args = parser.parse_args()

    plainRate = baseline(World.seeded())
    tally = Tally(args.show)
    stepsPerRun = 25
    batches = []
    left = args.examples
    while left > 0:
        statefulRuns = int(args.batch * args.stateful / stepsPerRun)
        examples = max(1, min(args.batch, left) - statefulRuns * stepsPerRun)
        batches.append((examples, statefulRuns))
        left -= examples + statefulRuns * stepsPerRun
    print(f"{args.examples:,} requests in {len(batches)} batches on {args.jobs} processes "
          f"(seed {args.seed})", flush=True)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        number = 0
        while batches:
            running = [pool.submit(batch, examples, runs, args.seed + number + offset,
                                   args.show)
                       for offset, (examples, runs) in enumerate(batches)]
            number += len(batches)
            for done in as_completed(running):
                tally.add(done.result())
                elapsed = time.perf_counter() - started
                print(f"  {tally.tried:>9,} tried  {tally.fiveHundreds:>5} 5xx  "
                      f"{tally.tried / elapsed:7.0f} requests/s", flush=True)
            # A stateful sequence may end before its last step: the budget is made up with
            # requests of the route property, so that at least N are tried.
            short = args.examples - tally.tried
            batches = [(min(args.batch, short - start), 0)
                       for start in range(0, max(0, short), args.batch)]
    elapsed = time.perf_counter() - started
    rate = tally.tried / elapsed
    kinds = ", ".join(f"{name}: {count}" for name, count in tally.found.most_common()) or "-"
    print(f"requests tried: {tally.tried:,}")
    print(f"5xx found: {tally.fiveHundreds} ({kinds})")
    print(f"rate: {rate:.0f} requests/s in {elapsed:.0f} s on {args.jobs} processes; baseline "
          f"GET /-/ through the same harness {plainRate:.0f}/s on one (ratio "
          f"{rate / plainRate:.2f})")
    for shown in tally.new:
        print(f"  new: {shown}")


if __name__ == "__main__":
    main()
