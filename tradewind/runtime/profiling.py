"""Profiles of a running process: `GET /debug/profile?seconds=N` on the health port samples
the process's event loop thread for N seconds (pyinstrument, 1 ms interval) while the
services go on working, and answers the call tree: text by default, `format=html` for
pyinstrument's interactive page, `format=speedscope` for https://www.speedscope.app.

Operator only, like the tenant views (`TRADEWIND_HEALTH_TOKEN`): a profile names the
code's paths and timings, not tenant data, but it costs the process some CPU while it
runs. One profile at a time (409 while one runs); 1 to 300 seconds.

    curl -H "Authorization: Bearer $TRADEWIND_HEALTH_TOKEN" \\
        "http://HOST:HEALTH_PORT/debug/profile?seconds=30" > execution.txt
"""

from __future__ import annotations

import asyncio

from pyinstrument import Profiler
from pyinstrument.renderers import SpeedscopeRenderer
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

PATH = "/debug/profile"
MAX_SECONDS = 300.0
SAMPLE_INTERVAL_S = 0.001
_FORMATS = ("text", "html", "speedscope")


class LiveProfiler:
    """Serves `PATH` on the health port: samples the event loop for the seconds asked
    (one profile at a time) and answers the call tree as text, HTML or speedscope."""

    def __init__(self) -> None:
        self._running = False

    async def __call__(self, request: Request) -> Response:
        try:
            seconds = float(request.query_params.get("seconds", "10"))
        except ValueError:
            seconds = -1.0
        if not 0 < seconds <= MAX_SECONDS:
            detail = f"seconds must be a number above 0 and at most {MAX_SECONDS:g}"
            return JSONResponse({"detail": detail}, 400)
        shape = request.query_params.get("format", "text")
        if shape not in _FORMATS:
            return JSONResponse({"detail": f"format must be one of {', '.join(_FORMATS)}"}, 400)
        if self._running:
            return JSONResponse({"detail": "a profile is being taken; try again after it"}, 409)
        self._running = True
        try:
            # async_mode "disabled": every frame the loop's thread runs is sampled, the
            # services' tasks included, not only this request's.
            profiler = Profiler(interval=SAMPLE_INTERVAL_S, async_mode="disabled")
            profiler.start()
            try:
                await asyncio.sleep(seconds)
            finally:
                profiler.stop()
        finally:
            self._running = False
        if shape == "html":
            return HTMLResponse(profiler.output_html())
        if shape == "speedscope":
            rendered = profiler.output(renderer=SpeedscopeRenderer())
            return Response(rendered, media_type="application/json")
        return PlainTextResponse(profiler.output_text(unicode=True, show_all=False))
