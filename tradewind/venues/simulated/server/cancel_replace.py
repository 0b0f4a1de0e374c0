"""The response of Binance's `POST /api/v3/order/cancelReplace` (and of the WebSocket
API's `order.cancelReplace`), which reports the cancel and the new order separately
(rest-api.md, "Cancel an Existing Order and Send a New Order"; errors.md -2021 / -2022):

* both succeeded: 200, `{"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS", ...}`;
* one of them failed: 409, -2021 "Order cancel-replace partially failed." with the same
  body under `data`, the failed part given as its `{"code", "msg"}`;
* the cancel failed with STOP_ON_FAILURE (the new order NOT_ATTEMPTED, its response
  null), or both failed: 400, -2022 "Order cancel-replace failed.".
"""

from __future__ import annotations

from collections.abc import Mapping

from tradewind.venues.simulated.server.binance_errors import BAD_REQUEST, BinanceError

CONFLICT = 409
PARTIALLY_FAILED = (-2021, "Order cancel-replace partially failed.")
FAILED = (-2022, "Order cancel-replace failed.")

Outcome = dict[str, object] | BinanceError


def cancel_replace_result(
    canceled: Outcome, placed: Outcome | None, headers: Mapping[str, str]
) -> dict[str, object]:
    """The body when both parts succeeded; otherwise raises the -2021 / -2022
    BinanceError whose `data` is that body. `canceled` / `placed`: the response body of
    each part, or its error; `placed` is None when the new order was not attempted."""
    cancel_failed = isinstance(canceled, BinanceError)
    new_failed = placed is None or isinstance(placed, BinanceError)
    data: dict[str, object] = {
        "cancelResult": "FAILURE" if cancel_failed else "SUCCESS",
        "newOrderResult": (
            "NOT_ATTEMPTED" if placed is None else "FAILURE" if new_failed else "SUCCESS"
        ),
        "cancelResponse": _part(canceled),
        "newOrderResponse": None if placed is None else _part(placed),
    }
    if not cancel_failed and not new_failed:
        return data
    if cancel_failed and new_failed:
        code, msg = FAILED
        status = BAD_REQUEST
    else:
        code, msg = PARTIALLY_FAILED
        status = CONFLICT
    raise BinanceError(code, msg, status, headers, data)


def _part(outcome: Outcome) -> object:
    if isinstance(outcome, BinanceError):
        return {"code": outcome.code, "msg": outcome.msg}
    return outcome
