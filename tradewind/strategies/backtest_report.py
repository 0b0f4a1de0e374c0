"""The self-contained HTML report of a backtest (`tradewind backtest --html FILE`): the
metrics, the equity and drawdown charts as inline SVG, and the trades. No script, no
stylesheet or font from elsewhere: it opens offline and under any Content-Security-Policy.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from tradewind.domain.performance import iso_utc
from tradewind.strategies.backtest import BacktestResult
from tradewind.strategies.backtest_command import result_document

_WIDTH, _HEIGHT, _PAD = 900, 220, 40
_MAX_POINTS = 1_500  # a chart needs no more than a point per pixel or two
_MAX_TRADES = 500

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1b1f24; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: right; }
th { text-align: left; font-weight: 600; } tr:nth-child(even) { background: #f4f6f8; }
svg { background: #fbfcfd; border: 1px solid #d8dee4; }
.note { color: #57606a; }
"""


def render_report(strategy_name: str, params: Mapping[str, Any], result: BacktestResult) -> str:
    """The report as one HTML document."""
    doc = result_document(strategy_name, params, result)
    metrics: dict[str, Any] = doc["metrics"]
    times = [point.ts_ns for point in result.equity_curve]
    equity = [float(point.equity) for point in result.equity_curve]
    peak, drawdowns = 0.0, []
    for value in equity:
        peak = max(peak, value)
        drawdowns.append(value / peak - 1.0 if peak > 0 else 0.0)
    asset = html.escape(result.valuation_asset)
    trades = doc["trades"]
    shown = trades[:_MAX_TRADES]
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(t[k]))}</td>" for k in ("ts", "symbol", "side"))
        + "".join(f"<td>{html.escape(t[k])}</td>" for k in ("price", "quantity", "fee"))
        + f"<td>{html.escape(t['fee_asset'])}</td></tr>"
        for t in shown
    )
    more = (
        f'<p class="note">{len(trades) - len(shown)} more trades are in the JSON result.</p>'
        if len(trades) > len(shown)
        else ""
    )
    title = f"Backtest: {html.escape(strategy_name)}"
    period = f"From {iso_utc(times[0])} to {iso_utc(times[-1])}" if times else "No bars"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{_STYLE}</style></head><body>
<h1>{title}</h1>
<p class="note">Parameters: <code>{html.escape(_compact(params))}</code>.
{html.escape(period)}; equity in {asset}, from
{html.escape(doc["initial_equity"])} to {html.escape(doc["final_equity"])}.
Figures as defined in docs/analytics.md (a year is 365 days, risk-free rate 0).</p>
<h2>Metrics</h2>
<table>{"".join(_metric_row(name, value) for name, value in metrics.items())}</table>
<h2>Equity ({asset})</h2>
{_chart(times, equity, "#0969da")}
<h2>Drawdown</h2>
{_chart(times, drawdowns, "#cf222e", ceiling_zero=True)}
<h2>Trades ({len(trades)})</h2>
<table><tr><th>time (UTC)</th><th>symbol</th><th>side</th><th>price</th><th>quantity</th>
<th>fee</th><th>fee asset</th></tr>{rows}</table>{more}
</body></html>
"""


def _compact(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"


def _metric_row(name: str, value: Any) -> str:
    return f"<tr><th>{html.escape(name)}</th><td>{html.escape(metric_text(value))}</td></tr>"


def metric_text(value: Any) -> str:
    """A metric's value as the table writes it: "-" for none, floats to 6 significant
    digits, a mapping (returns per period, exposure per asset) as `key value, …`."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {metric_text(item)}" for key, item in value.items()) or "-"
    return str(value)


def _chart(
    times: Sequence[int], values: Sequence[float], colour: str, *, ceiling_zero: bool = False
) -> str:
    """A line chart of `values` over `times` as an SVG element, with its range labelled."""
    if len(values) < 2:
        return '<p class="note">Too few points to chart.</p>'
    step = max(1, len(values) // _MAX_POINTS)
    xs, ys = list(times[::step]), list(values[::step])
    if xs[-1] != times[-1]:
        xs.append(times[-1])
        ys.append(values[-1])
    low, high = min(ys), max(ys)
    if ceiling_zero:
        high = max(high, 0.0)
    span_y = (high - low) or 1.0
    span_x = (xs[-1] - xs[0]) or 1
    width, height = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD
    points = " ".join(
        f"{_PAD + (x - xs[0]) / span_x * width:.1f},{_PAD + (high - y) / span_y * height:.1f}"
        for x, y in zip(xs, ys, strict=True)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>'
        f'<text x="4" y="{_PAD}" font-size="11">{high:.6g}</text>'
        f'<text x="4" y="{_HEIGHT - _PAD}" font-size="11">{low:.6g}</text>'
        "</svg>"
    )
