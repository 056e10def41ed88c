"""System V objects made by the IPC tests with ctypes (queues holding messages, semaphore
sets, segments removed while attached), lsipc's JSON read back, and the helpers that pick one
object out of ``memlens ipc --json``. Every object made here is removed when its block ends."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.helpers import run_cli

IPC_CREAT, IPC_RMID = 0o1000, 0

libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.semop.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.sem_open.restype = ctypes.c_void_p
libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
libc.sem_close.argtypes = [ctypes.c_void_p]


def check(value: int, what: str) -> int:
    if value < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return value


@contextmanager
def sysv_queue(*messages: bytes) -> Iterator[int]:
    msqid = check(libc.msgget(0, IPC_CREAT | 0o600), "msgget")
    try:
        for text in messages:
            buf = ctypes.create_string_buffer(8 + len(text))
            ctypes.c_long.from_buffer(buf).value = 1  # mtype
            ctypes.memmove(ctypes.addressof(buf) + 8, text, len(text))
            check(libc.msgsnd(msqid, buf, len(text), 0), "msgsnd")
        yield msqid
    finally:
        libc.msgctl(msqid, IPC_RMID, None)


@contextmanager
def sysv_semaphores(n: int) -> Iterator[int]:
    semid = check(libc.semget(0, n, IPC_CREAT | 0o600), "semget")
    try:
        op = (ctypes.c_short * 3)(0, 1, 0)  # sem_num 0, +1, no flags: sets otime
        check(libc.semop(semid, op, 1), "semop")
        yield semid
    finally:
        libc.semctl(semid, 0, IPC_RMID)


def remove_segment(shmid: int) -> None:
    libc.shmctl(shmid, IPC_RMID, None)


def ipc_json(*args: str) -> dict[str, Any]:
    result = run_cli("ipc", "--json", *args)
    assert result.status == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def shm_entry(doc: dict[str, Any], shmid: int) -> dict[str, Any] | None:
    return next((s for s in doc["shm"] if s["id"] == shmid), None)


def by_pid(entry: dict[str, Any]) -> dict[int, dict[str, Any]]:
    key = "attachers" if "attachers" in entry else "mappers"
    return {a["pid"]: a for a in entry[key]}


def lsipc(*args: str) -> str:
    done = subprocess.run(["lsipc", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def lsipc_json(flag: str, section: str) -> dict[int, dict[str, Any]]:
    doc = json.loads(lsipc(flag, "--json", "-b"))
    return {int(e["id"]): e for e in doc[section]}


def table_row(text: str, first: str) -> list[str]:
    """The cells of the line of a text table whose first cell is ``first`` (cells are split
    at blanks: use only columns whose values have none)."""
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{text}")
