"""Coinbase's Advanced Trade API on the simulated exchange: the same engine and market
as the Binance-compatible side, served under `/api/v3/brokerage` and `/v2` so that
ccxt's `coinbase` trades on it unmodified (`tradewind venue serve --api coinbase`)."""
