"""Following the partitions a subscription reads, for a service that keeps per-key state
(execution's account sessions, strategy's bots): which partitions came since the last
look, so their keys' state is taken up, and which have been another instance's for
`grace_s`, so it is let go (a lease can lapse for a heartbeat without moving)."""

from __future__ import annotations

from collections.abc import Callable


class OwnedPartitions:
    """`owned()` polls the partitions read now (`Subscription.partitions`); `followed` are
    those whose keys' state this instance holds, which the caller updates as it takes
    partitions up (`followed |= gained`) and lets them go (`followed -= lost`)."""

    def __init__(
        self,
        owned: Callable[[], frozenset[int]],
        partition_of: Callable[[str], int],
        *,
        grace_s: float,
    ) -> None:
        self.owned = owned
        self.of = partition_of
        self.followed: set[int] = set()
        self._grace_s = grace_s
        self._lost_since: dict[int, float] = {}
        self._regained: set[int] = set()

    def holds(self, key: str) -> bool:
        """Whether `key`'s state is this instance's."""
        return self.of(key) in self.followed

    def changes(self, now: float) -> tuple[set[int], set[int]]:
        """(partitions to take up now, partitions to let go now); `now` is monotonic."""
        owned = self.owned()
        gained = set(owned) - self.followed
        lost = set()
        for partition in self.followed - owned:
            if now - self._lost_since.setdefault(partition, now) >= self._grace_s:
                lost.add(partition)
        for partition in list(self._lost_since):
            if partition in owned:
                self._regained.add(partition)
            if partition in owned or partition in lost:
                del self._lost_since[partition]
        return gained, lost

    def take_regained(self) -> set[int]:
        """Followed partitions that were not ours at some look and are again, within the
        grace (so their state was kept): another instance may have had them meanwhile
        and changed what the state stands for (execution: orders it placed). Each is
        reported once."""
        regained, self._regained = self._regained, set()
        return regained
