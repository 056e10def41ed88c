"""``memlens serve``: the dashboard's ASGI application (FastAPI, the ``serve`` extra).

A JSON API under /api (described at /openapi.json) and four pages that draw it: the top view
with where the RAM went, a page per process (layout, maps, sharing, a watch started and
followed live), the recordings and one recording. Read-only except starting and stopping
watches. Each figure is the one of memlens's ``--json`` output (memlens.api.report builds
both). A process is named by its PID only (an int in the path): nothing outside /proc/PID is
read for it. With a token, every request must carry it (``Authorization: Bearer TOKEN``, or
``?token=TOKEN`` once, which sets a cookie for the pages that follow).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, FastAPI, HTTPException, Path, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import BeforeValidator

from memlens.api import report as data
from memlens.errors import ExitStatus, MemlensError
from memlens.procfs.root import ProcRoot
from memlens.render.html import document as doc
from memlens.serve import models as m
from memlens.serve.watches import LiveWatch, TooManyWatches, Watches

if TYPE_CHECKING:
    from memlens.analysis.ipc import IpcReport

PID_MAX = 1 << 22  # the kernel's largest pid_max


def _digits(value: object) -> object:
    """A path's number is ASCII digits and nothing else: pydantic's lax int would take
    "3\n", " 3" or "3_0" as 3 (and 30), so /api/watches/3%0A would name watch 3."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("expected decimal digits only")
    return value


Digits = BeforeValidator(_digits)
PidParam = Annotated[int, Path(ge=1, le=PID_MAX, description="a process ID"), Digits]
IdParam = Annotated[int, Path(ge=1, le=(1 << 62), description="a recording or watch ID"), Digits]
COOKIE = "memlens_token"
STATUS = {
    ExitStatus.NO_SUCH_PROCESS: 404,
    ExitStatus.NO_ADDRESS_SPACE: 404,
    ExitStatus.ACCESS_DENIED: 403,
    ExitStatus.USAGE: 400,
    ExitStatus.STORE_ERROR: 404,
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# The errors an API route may answer with, each {"detail": message} (in its OpenAPI entry).
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.Error, "description": what}
    for code, what in (
        (400, "a bad argument"),
        (403, "not readable (permissions)"),
        (404, "no such process, recording or watch"),
        (409, "the files could not be read as expected"),
        (429, "too many watches running"),
    )
}


def create_app(
    root: ProcRoot | None = None,
    db: str | None = None,
    token: str | None = None,
    allowed_hosts: tuple[str, ...] | None = None,
) -> FastAPI:
    """The dashboard for ``root`` (live /proc unless given) and the recordings database ``db``.
    ``token``: required on every request. ``allowed_hosts``: Host headers accepted (a
    loopback listener accepts only its own names: no DNS rebinding)."""
    from memlens.store import default_path

    proc = root if root is not None else ProcRoot.live()
    watches = Watches(proc, db or default_path())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        watches.stop_all()

    app = FastAPI(
        title="memlens",
        summary="How Linux processes use memory: the dashboard's API",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.watches = watches

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        host = request.headers.get("host", "").rsplit(":", 1)[0]
        if allowed_hosts is not None and host not in allowed_hosts:
            return PlainTextResponse("unknown Host", status_code=421)
        if request.method not in ("GET", "HEAD") and not _same_origin(request):
            return PlainTextResponse("a request from another site", status_code=403)
        given = _token_of(request)
        if token is not None and not (given and secrets.compare_digest(given, token)):
            return PlainTextResponse("a token is needed (printed by memlens serve)", 401)
        response = await call_next(request)
        if response.status_code == 405:  # Starlette lists one route's methods only
            response.headers["Allow"] = _allowed_methods(app, request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if token is not None and request.query_params.get("token") == token:
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.exception_handler(MemlensError)
    async def memlens_error(request: Request, exc: MemlensError) -> JSONResponse:
        status = 429 if isinstance(exc, TooManyWatches) else STATUS.get(exc.exit_status, 409)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    _api(app, proc, watches, db)
    _pages(app)
    return app


def _allowed_methods(app: FastAPI, request: Request) -> str:
    from starlette.routing import Match, Route

    methods: set[str] = set()
    for route in app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def _same_origin(request: Request) -> bool:
    """A browser names the page a request comes from (Origin): starting or stopping a watch
    is refused to pages of other sites (no cross-site request forgery)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not from a browser page (curl, scripts)
    return origin.partition("://")[2] == request.headers.get("host", "")


def _token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("token") or request.cookies.get(COOKIE)


def _api(app: FastAPI, root: ProcRoot, watches: Watches, db: str | None) -> None:
    api = APIRouter(prefix="/api", responses=ERRORS)

    @api.get("/top", response_model=m.Top, tags=["system"])
    def top() -> dict[str, Any]:
        """Every process, as ``memlens top --json`` (with PSS), largest PSS first."""
        result = data.processes(root)
        return doc.top_doc(result, data.largest_first(result))

    @api.get("/system", response_model=m.System, tags=["system"])
    def system() -> dict[str, Any]:
        """Where the RAM went, as ``memlens top --system --json``: the parts add up to MemTotal."""
        return doc.system_doc(data.breakdown(root))

    @api.get("/treemap", response_model=list[m.TreeNode], tags=["system"])
    def treemap() -> list[dict[str, Any]]:
        """PSS by user, program, process and mapping group."""
        shown = data.largest_first(data.processes(root))
        return doc.treemap(shown, data.smaps_of(root, shown, []))

    @api.get("/ipc", response_model=m.Ipc, tags=["system"])
    def ipc() -> dict[str, Any]:
        """Shared memory and IPC objects with the processes attached, as ``memlens ipc --json``."""
        return doc.ipc_doc(_ipc(root))

    @api.get("/processes/{pid}/maps", response_model=m.Maps, tags=["process"])
    def maps(pid: PidParam) -> dict[str, Any]:
        """The mappings of one process, as ``memlens maps --json`` (the table's fields)."""
        return doc.maps_doc(data.process_map(root, pid))

    @api.get("/processes/{pid}/layout", response_model=m.Layout, tags=["process"])
    def layout(pid: PidParam) -> dict[str, Any]:
        """The address-space picture of ``memlens layout --svg``."""
        return {"pid": pid, "svg": doc.svg(data.layout(root, pid))}

    @api.get("/processes/{pid}/shared", response_model=m.Shared, tags=["process"])
    def shared(pid: PidParam) -> dict[str, Any]:
        """The shared memory objects it maps, with every process attached to each."""
        root.process(pid)  # no such process: said so, not an empty list
        return doc.shared_doc(_ipc(root), pid)

    @api.get("/recordings", response_model=list[m.RecordingInfo], tags=["recordings"])
    def recordings() -> list[dict[str, Any]]:
        """The recordings, as ``memlens recordings --json``."""
        return doc.recordings_list(data.recordings(db))

    @api.get("/recordings/{rec}", response_model=m.Recording, tags=["recordings"])
    def recording(rec: IdParam) -> dict[str, Any]:
        """One recording with its series re-analysed, as ``memlens recordings show ID --json``."""
        r = data.recording(rec, db)
        return doc.recording_doc(r.info, r.series, r.analyses)

    @api.get("/watches", response_model=list[m.WatchState], tags=["watches"])
    def list_watches() -> list[dict[str, Any]]:
        """The watches started here."""
        return [w.document(samples=False) for w in watches.watches.values()]

    @api.post("/watches", response_model=m.WatchState, status_code=201, tags=["watches"])
    def start_watch(request: Annotated[m.WatchRequest, Body()]) -> dict[str, Any]:
        """Start watching a process (recorded like ``memlens watch -p PID``)."""
        return watches.start(request.pid, request.interval).document(samples=False)

    @api.get("/watches/{ident}", response_model=m.WatchLive, tags=["watches"])
    def get_watch(ident: IdParam) -> dict[str, Any]:
        """A watch: its samples so far and their analysis."""
        return _watch(watches, ident).document(samples=True)

    @api.delete("/watches/{ident}", response_model=m.WatchState, tags=["watches"])
    def stop_watch(ident: IdParam) -> dict[str, Any]:
        """Stop a watch; its recording keeps what it sampled."""
        w = _watch(watches, ident)
        w.stop()
        w.thread.join(30)
        return w.document(samples=False)

    app.include_router(api)


def _ipc(root: ProcRoot) -> IpcReport:
    problems: list[data.Problem] = []
    report = data.ipc(root, problems)
    if report is None:
        raise HTTPException(403, problems[0].message if problems else "IPC not readable")
    return report


def _watch(watches: Watches, ident: int) -> LiveWatch:
    w = watches.get(ident)
    if w is None:
        raise HTTPException(404, f"no watch {ident}")
    return w


def _pages(app: FastAPI) -> None:
    from memlens.serve import pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return pages.page("top", "memlens: top")

    @app.get("/process/{pid}", response_class=HTMLResponse, include_in_schema=False)
    def process(pid: PidParam) -> str:
        return pages.page("process", f"memlens: process {pid}", pid=pid)

    @app.get("/recordings", response_class=HTMLResponse, include_in_schema=False)
    def recordings() -> str:
        return pages.page("recordings", "memlens: recordings")

    @app.get("/recordings/{rec}", response_class=HTMLResponse, include_in_schema=False)
    def recording(rec: IdParam) -> str:
        return pages.page("recordings", f"memlens: recording {rec}", recording=rec)

    @app.get("/assets/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        return pages.asset_response(name)
