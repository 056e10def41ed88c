"""The dashboard API's response schemas (its OpenAPI description). They describe the documents
of memlens's ``--json`` output; sizes are bytes, times seconds since the epoch, a size not read
is null. Nested documents memlens describes elsewhere (maps, IPC, sharing) are open objects
here with the fields the pages use named."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Error(BaseModel):
    detail: str | list[dict[str, Any]]


class ProcessRow(_Open):
    """A record of ``memlens top --json`` (fields added there pass through)."""

    pid: int
    start_time: int
    ppid: int
    uid: int
    user: str
    command: str
    name: str
    program: str
    program_key: str
    state: str
    threads: int
    minflt: int
    majflt: int
    vss: int
    rss: int
    rss_anon: int | None
    rss_file: int | None
    rss_shmem: int | None
    pss: int | None
    pss_anon: int | None
    pss_file: int | None
    pss_shmem: int | None
    pss_dirty: int | None
    uss: int | None
    private_hugetlb: int | None
    shared_hugetlb: int | None
    swap: int | None
    swap_pss: int | None
    referenced: int | None
    vmas: int | None
    cgroup: str | None
    oom_score: int | None = None
    oom_score_adj: int | None = None


class Unreadable(BaseModel):
    pid: int
    user: str
    command: str
    reason: str


class Top(BaseModel):
    time: float
    processes: list[ProcessRow]
    unreadable: list[Unreadable]
    kernel_threads: int
    zombies: int


class Part(BaseModel):
    name: str
    bytes: int
    group: str
    note: str


class System(BaseModel):
    mem_total: int
    parts: list[Part]
    orphan_segments: list[dict[str, Any]]


class TreeNode(BaseModel):
    name: str
    value: int
    pid: int | None = None
    kind: str | None = None
    children: list[TreeNode] | None = None


class Ipc(_Open):
    namespace: str | None
    unreadable: list[dict[str, Any]]


class Mapping(BaseModel):
    start: int
    end: int
    perms: str
    offset: int
    inode: int
    kind: str
    name: str
    deleted: bool
    rss: int | None
    pss: int | None
    shared_clean: int | None
    shared_dirty: int | None
    private_clean: int | None
    private_dirty: int | None
    swap: int | None
    swap_pss: int | None
    anonymous: int | None


class Maps(_Open):
    pid: int
    command: str
    mappings: list[Mapping]
    totals: dict[str, int | None]


class Layout(BaseModel):
    pid: int
    svg: str = Field(description="an SVG element, as memlens layout --svg draws it")


class Shared(BaseModel):
    pid: int
    objects: list[dict[str, Any]] = Field(description="as in memlens ipc --json, with section")


class RecordingInfo(_Open):
    id: int
    started: float
    ended: float | None
    command: str
    interval: float
    targets: int
    samples: int


class Recording(RecordingInfo):
    processes: list[dict[str, Any]]


class WatchRequest(BaseModel):
    pid: int = Field(ge=1, le=1 << 22, description="the process to watch")
    interval: float = Field(1.0, ge=0.1, le=3600, description="seconds between samples")

    @field_validator("pid", mode="before")
    @classmethod
    def _a_json_number(cls, value: Any) -> Any:
        """JSON's true is not the pid 1, nor "7" the pid 7 (pydantic's lax mode took both);
        7.0 is, as JSON Schema's integer says."""
        if isinstance(value, bool | str):
            raise ValueError("a process ID is a JSON integer")
        return value


class WatchState(BaseModel):
    id: int
    pid: int
    interval: float
    state: str = Field(description="starting, running or ended")
    stopped_by: str | None
    error: str | None
    recording: int | None


class WatchLive(WatchState):
    analysis: dict[str, Any] | None
    samples: list[dict[str, Any]]
    where: list[dict[str, Any]]
