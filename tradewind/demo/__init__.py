"""What `tradewind up` shows off: demo users and their bots, the live status screen and
the report written when the demo stops.

- `users`: demo users, each with a funded account and one running bot
- `status`: `StatusBoard`, the live status screen, fed from the bus
- `report`: the run's summary, written as JSON on the way out

Import from the modules; this package re-exports nothing.
"""
