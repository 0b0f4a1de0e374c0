"""Benchmark worker processes: spawned (a fresh interpreter each, as separately deployed
services are), sharing counters with the driver, and always stopped.

The driver makes `WorkerProcesses(target, specs, fields)`; worker `i` runs
`target(specs[i], link)` in its own process, with SIGINT ignored (on Ctrl-C the driver
stops the workers). Through its `WorkerLink` a worker writes its row of the `Board` (one
integer per field, in shared memory), reads the driver's `measuring` flag, runs while
`link.running()` (until `finish` or `close`, or the driver's death: a killed driver
leaves no worker behind) and hands its result back with `link.hand_back`.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized, SynchronizedArray
from multiprocessing.synchronize import Event
from typing import Any, Generic, TypeVar

S = TypeVar("S")
R = TypeVar("R")


class WorkerFailed(RuntimeError):
    """A worker process ended before it was asked to, or did not stop in time."""


class Board:
    """Per worker, one integer per field, in shared memory: each worker writes its own
    row only, the driver reads them all (no lock needed)."""

    def __init__(self, fields: Sequence[str], workers: int, values: SynchronizedArray[int]):
        self.fields = tuple(fields)
        self.workers = workers
        self._values = values
        self._column = {name: i for i, name in enumerate(self.fields)}

    def set(self, worker: int, field: str, value: int) -> None:
        self._values[worker * len(self.fields) + self._column[field]] = value

    def get(self, worker: int, field: str) -> int:
        return int(self._values[worker * len(self.fields) + self._column[field]])

    def total(self, field: str) -> int:
        return sum(self.get(w, field) for w in range(self.workers))

    def describe(self) -> str:
        """Every worker's row, for an error message."""
        return "; ".join(
            f"worker {w}: " + ", ".join(f"{f} {self.get(w, f)}" for f in self.fields)
            for w in range(self.workers)
        )


@dataclass(frozen=True)
class WorkerLink:
    """What a worker shares with the driver."""

    index: int
    board: Board
    measuring: Synchronized[int]
    stop: Event
    results: Queue[tuple[int, Any]]
    driver: int  # its pid: a worker may start after it died, so not os.getppid()

    def report(self, field: str, value: int) -> None:
        self.board.set(self.index, field, value)

    def running(self) -> bool:
        """Until the driver asks the workers to stop, or dies."""
        return not self.stop.is_set() and os.getppid() == self.driver

    def hand_back(self, result: object) -> None:
        """Give the driver this worker's result (nothing if the driver is gone: the put
        would wait forever at exit for a reader)."""
        if os.getppid() == self.driver:
            self.results.put((self.index, result))


def _run_worker(target: Callable[[S, WorkerLink], None], spec: S, link: WorkerLink) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the driver stops the workers
    target(spec, link)


class WorkerProcesses(Generic[S, R]):
    """One spawned process per spec, running `target(spec, link)`: started, watched,
    and stopped by `finish` (their results) or `close` (always, in a `finally`)."""

    def __init__(
        self,
        target: Callable[[S, WorkerLink], None],
        specs: Sequence[S],
        fields: Sequence[str],
        stop_timeout_s: float = 30.0,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        count = len(specs)
        values: SynchronizedArray[int] = context.Array("q", count * len(fields), lock=False)
        self.board = Board(fields, count, values)
        self.measuring: Synchronized[int] = context.Value("b", 0, lock=False)
        self._stop = context.Event()
        self._results: Queue[tuple[int, Any]] = context.Queue()
        self._stop_timeout_s = stop_timeout_s
        driver = os.getpid()
        self._processes = [
            context.Process(
                target=_run_worker,
                args=(
                    target,
                    spec,
                    WorkerLink(i, self.board, self.measuring, self._stop, self._results, driver),
                ),
                name=f"bench-worker-{i}",
                daemon=True,  # multiprocessing ends them at exit, should `close` be skipped
            )
            for i, spec in enumerate(specs)
        ]

    def start(self) -> None:
        for process in self._processes:
            process.start()

    def running(self) -> int:
        """How many workers are running."""
        return sum(p.is_alive() for p in self._processes)

    def check_alive(self) -> None:
        """Raise `WorkerFailed` if a worker has ended."""
        for process in self._processes:
            if not process.is_alive():
                raise WorkerFailed(
                    f"{process.name} exited with code {process.exitcode} "
                    "(its error is above, on stderr)"
                )

    def finish(self) -> list[R]:
        """Ask the workers to stop; their results, by index. `WorkerFailed` if one fails
        or they take longer than `stop_timeout_s`."""
        self._stop.set()
        results: dict[int, R] = {}
        deadline = time.monotonic() + self._stop_timeout_s
        while len(results) < len(self._processes):
            try:
                index, result = self._results.get(timeout=0.5)
            except queue.Empty:
                for process in self._processes:
                    if process.exitcode not in (None, 0):
                        raise WorkerFailed(
                            f"{process.name} exited with code {process.exitcode} "
                            "(its error is above, on stderr)"
                        ) from None
                if time.monotonic() > deadline:
                    raise WorkerFailed(
                        f"the workers did not stop within {self._stop_timeout_s:g} s"
                    ) from None
                continue
            results[index] = result
        return [results[i] for i in range(len(self._processes))]

    def close(self) -> None:
        """Stop every worker: asked, then terminated, then killed."""
        self._stop.set()
        deadline = time.monotonic() + self._stop_timeout_s
        while time.monotonic() < deadline and self.running():
            try:  # a worker exits only once what it put is read
                self._results.get(timeout=0.1)
            except queue.Empty:
                continue
        for process in self._processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
