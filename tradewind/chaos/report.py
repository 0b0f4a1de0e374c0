"""A chaos run's result as Markdown: what `tradewind chaos` prints and records in
docs/reliability.md."""

from __future__ import annotations

import platform
from datetime import UTC, datetime

from tradewind.chaos.run import ChaosResult


def _s(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.1f} s"


def markdown(result: ChaosResult, command: str) -> str:
    plan = result.plan
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()} ({platform.machine()}, Python {platform.python_version()})"
    verdict = "passed" if not result.failures else f"FAILED ({len(result.failures)})"
    lines = [
        f"### {plan.bus} bus — {verdict}",
        "",
        f"{when}, {machine}: `{command}` — {plan.bots} bots, two instances of every "
        f"service{', in zones a and b' if plan.zones else ''}, {result.seconds / 60:.1f} min "
        f"in all; {result.orders} orders reached the venue.",
        "",
    ]
    if result.rows:
        lines += [
            "| killed (`kill -9`, restarted 5 s later) | take-over by the twin | orders gap "
            "| sent twice | portfolios = venue (trading paused) |",
            "|---|---|---|---|---|",
        ]
        for row in result.rows:
            portfolios = f"{row.portfolios_correct} / {row.accounts}"
            if row.portfolios_s is not None:
                portfolios += f" after {_s(row.portfolios_s)}"
            take_over = "nothing to take" if row.killed == "gateway" else _s(row.take_over_s)
            lines.append(
                f"| {row.killed} | {take_over} | {_s(row.orders_gap_s)} "
                f"| {row.sent_twice} | {portfolios} |"
            )
        lines.append("")
    storm = [f for f in result.faults if f.kind != "kill -9 + restart"]
    if storm:
        lines += ["| fault | target | at | lasted | orders gap |", "|---|---|---|---|---|"]
        for fault in storm:
            lines.append(
                f"| {fault.kind} | {fault.target} | {fault.at_s:.0f} s | {_s(fault.lasted_s)} "
                f"| {_s(fault.orders_gap_s)} |"
            )
        lines.append("")
    stops = max((seconds for _, seconds in result.stops.values()), default=0.0)
    exits = sorted({code for code, _ in result.stops.values()})
    lines += [
        f"- orders lost (venue trades missing from fills): {result.missing_fills}"
        + ("" if result.fills_s is None else f" (all in {_s(result.fills_s)})"),
        f"- client order ids sent twice: {result.sent_twice}",
        f"- requests the venue refused for rate (its published limits): {result.rate_limited}",
        f"- orders of unknown outcome settled {_s(result.settled_s)} after trading stopped",
        f"- portfolios equal to the venue {_s(result.portfolios_s)} after trading stopped "
        f"(bound {plan.settle_s:.0f} s)",
        f"- breaker openings: {result.breakers_opened}"
        + (
            ""
            if result.breakers_opened_in_table is None
            else f" ({result.breakers_opened_in_table} during the table, which has no venue fault)"
        )
        + f"; dead letters: {len(result.dead_letters)}",
        f"- SIGTERM: exit codes {exits}, slowest exit {stops:.1f} s",
    ]
    lines += [f"- note: {note}" for note in result.notes]
    if result.failures:
        lines += ["", "Did not hold:", *(f"- {failure}" for failure in result.failures)]
    return "\n".join(lines) + "\n"
