"""Coinbase Advanced Trade's published REST limits (Coinbase's "Advanced Trade API Rate
Limits", 2026): private endpoints 30 requests per second per user, public endpoints 10
requests per second per IP address; a request over them is answered 429
`rate_limit_exceeded`. The simulated exchange's Coinbase API enforces the same
(`venues.simulated.server.coinbase.limits`).

They are not `RateRules`, and the coinbase profile declares none:

- the per-user limit counts every private request of the account, while `RateRules`'
  per-account windows count its new orders only, and its per-address windows count
  every account's requests from one address together (so a 10 per second public window
  there would hold every account's private calls to 10 a second between them);
- they are one-second windows, and execution's limiter counts a request sent within
  half a second of a window's edge in both windows around it, which needs windows of at
  least two seconds.

ccxt's own limiter paces them instead: on for every real venue (`catalog.exchange_for`)
and for the simulator's Coinbase API (`CcxtVenues`), it spaces each session's requests
`rateLimit` ms apart (a public one at a cost of 3: about 10 a second). One session trades
for one account, so `PRIVATE_RATE_LIMIT_MS` keeps an account under its 30 a second. The
public limit is the address's, not the session's: the sessions of a process that leave
from one address take turns for their public requests, `PUBLIC_REQUESTS_PACED_PER_S`
together (`VenueProfile.public_requests_per_s`).
"""

from __future__ import annotations

PRIVATE_REQUESTS_PER_S = 30
"""Per user (an API key's account), every private (authenticated) request."""

PUBLIC_REQUESTS_PER_S = 10
"""Per IP address, every public request."""

PUBLIC_REQUESTS_PACED_PER_S = 8
"""A process's public requests a second from one address, its sessions together
(`VenueProfile.public_requests_per_s`), under `PUBLIC_REQUESTS_PER_S` by a margin: a
request that opens a connection (a fresh public session's TLS handshake) reaches the
venue later after its turn than the ones after it, on warm connections. Eleven turns 1/8
s apart span 1.25 s, so a one-second window (Coinbase's, the simulator's sliding one)
holds 10 requests or fewer unless one request's way to the venue took 250 ms longer than
a later one's (at 9 a second, 111 ms; at 10, any longer)."""

STREAM_OPENINGS_PER_S = 2
"""A process's stream openings a second (`VenueProfile.stream_openings_per_s`): Coinbase
allows 8 WebSocket connections, and 8 subscriptions without a JWT, a second per IP
address. A one-second window catches at most 3 openings of a process paced at 2 a
second, and one more right after its event loop stalled (`StreamPacer`): 4, so two
processes on one address (execution opens a user stream per account, marketdata a
subscription per symbol and channel) stay within 8. At 3 a second a distributed run
still saw a refused connection now and then."""

PRIVATE_RATE_LIMIT_MS = 34
"""ccxt `coinbase`'s own `rateLimit`: ms between two requests of one session, just over
1000 / `PRIVATE_REQUESTS_PER_S`."""
