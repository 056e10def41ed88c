"""The dashboard's pages: one Jinja2 template, the page's script and the shared assets. A page
carries no process data: its script fetches the API (so the pages show what the API says)."""

from __future__ import annotations

from functools import cache

from fastapi import HTTPException, Response

from memlens.render.html.report import asset, environment

# The files /assets/ serves, and their types; nothing else is served from the package.
SERVED = {
    "echarts.min.js": "text/javascript",
    "memlens.js": "text/javascript",
    "memlens.css": "text/css",
    "dashboard.js": "text/javascript",
}


def page(kind: str, title: str, pid: int | None = None, recording: int | None = None) -> str:
    template = environment().get_template("dashboard.html.j2")
    return template.render(kind=kind, title=title, pid=pid, recording=recording)


@cache
def _asset(name: str) -> bytes:
    return asset(name).encode("utf-8")


def asset_response(name: str) -> Response:
    media = SERVED.get(name)
    if media is None:
        raise HTTPException(404, "no such asset")
    return Response(_asset(name), media_type=media, headers={"Cache-Control": "max-age=3600"})
