"""Bus throughput and latency per adapter: `python bench/bus.py [--url URL ...] [--json]`.

Same as `tradewind bench bus`. Without --url it measures memory://, Redis at
127.0.0.1:6379 and a private Tansu (Kafka protocol) broker it starts itself.
"""

from __future__ import annotations

from tradewind.benchmarks.bus import DEFAULT_URLS, run
from tradewind.benchmarks.command_line import OneLineErrorParser


def main() -> None:
    parser = OneLineErrorParser(description=__doc__)
    parser.add_argument("--url", action="append", help="bus URL; repeat for several")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--events", type=int, default=None, help="events per run")
    parser.add_argument("--rounds", type=int, default=500, help="latency round trips")
    args = parser.parse_args()
    print(run(args.url or DEFAULT_URLS, as_json=args.json, events=args.events, rounds=args.rounds))


if __name__ == "__main__":
    main()
