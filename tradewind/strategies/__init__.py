"""Strategy plug-ins: the API every strategy implements (`api`), the installed ones by
name (`registry`), the built-ins (`rebalance`, `dca`, `grid`, `momentum`) and the
backtest harness that runs any of them over historical bars (`backtest`).

Strategy code is pure: no I/O, no clock, no asyncio; the host (the strategy service, or
`backtest.run_backtest`) feeds it events and carries out what it submits.
"""
