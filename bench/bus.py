"""Bus throughput and latency per adapter: `python bench/bus.py [--url URL ...] [--json [FILE]]`.

Same as `tradewind bench bus`. Without --url it measures memory://, Redis at
127.0.0.1:6379 and a private Tansu (Kafka protocol) broker it starts itself.
"""

from __future__ import annotations

from tradewind.benchmarks.bus import DEFAULT_URLS, bus_report, measure, render_table
from tradewind.benchmarks.command_line import OneLineErrorParser
from tradewind.benchmarks.report import add_json_option, write_report


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--url", action="append", help="bus URL; repeat for several")
    add_json_option(parser)
    parser.add_argument("--events", type=int, default=None, help="events per run")
    parser.add_argument("--rounds", type=int, default=500, help="latency round trips")
    args = parser.parse_args()
    results = measure(args.url or DEFAULT_URLS, events=args.events, rounds=args.rounds)
    if args.json:
        write_report(bus_report(results), args.json)
    else:
        print(render_table(results))


if __name__ == "__main__":
    main()
