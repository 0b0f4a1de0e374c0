"""Python's cyclic garbage collector, tuned for a service process that runs for days.

With Python's default thresholds (700, 10, 10) a busy order path pays for collections in
proportion to what is in flight, not to the garbage it makes: every order, fill and
envelope of a burst survives the young collections while it waits, so they run every
few hundred allocations and a full collection scans the whole heap every ~70,000. In the
rebalance wave of 10,000 accounts (bench/rebalance_wave.py) that was a third of the CPU
(5.3 s of 16 s; docs/benchmarks.md). Reference counting frees almost everything these
services make; the collector is only for cycles, so it can run far less often:

- `tune_collector` raises the thresholds (`THRESHOLDS`): a young collection every 50,000
  net allocations, a full one every 100 older ones (and, since Python 3.8's heuristic,
  only once a quarter of the long-lived objects are new);
- `freeze_startup_heap`, once the services have started, moves what start-up made
  (modules, settings, the services and their sessions) to the permanent generation,
  which collections never scan again.

`tradewind up` and `tradewind service` call both (`app.runner.run_services`); the
benchmarks of the order path call `tune_collector` so that they measure what runs.
"""

from __future__ import annotations

import gc

#: `gc.set_threshold` for services (Python's default: 700, 10, 10).
THRESHOLDS = (50_000, 20, 100)


def tune_collector() -> None:
    """Collect cycles less often (`THRESHOLDS`)."""
    gc.set_threshold(*THRESHOLDS)


def freeze_startup_heap() -> None:
    """Collect once, then exclude every object alive now from later collections."""
    gc.collect()
    gc.freeze()
