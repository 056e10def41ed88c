"""classify: what a VMA is from its maps columns; safe: untrusted names made terminal-safe."""

from __future__ import annotations

import pytest

from memlens.analysis.mapkind import Kind, MapName, classify, classify_table
from memlens.procfs.maps_parser import parse_maps
from memlens.render.text import safe

LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"


def test_file() -> None:
    assert classify(LIBC, "fe:00", 339380, "r-xp") == MapName(Kind.FILE, LIBC, "libc.so.6")


def test_file_name_without_a_directory() -> None:
    assert classify("/", "fe:00", 2, "r--p") == MapName(Kind.FILE, "/", "/")


def test_deleted_file() -> None:
    got = classify("/tmp/build/a.out (deleted)", "fe:00", 4096, "r-xp")

    assert got == MapName(Kind.FILE, "/tmp/build/a.out (deleted)", "a.out (deleted)", True)
    assert got.deleted is True
    assert (got.shm_key, got.shmid) == (None, None)


def test_deleted_file_on_tmpfs() -> None:
    got = classify("/tmp/scratch (deleted)", "00:19", 17, "rw-s")

    assert got == MapName(Kind.FILE, "/tmp/scratch (deleted)", "scratch (deleted)", True)


def test_anonymous() -> None:
    assert classify("", "00:00", 0, "rw-p") == MapName(Kind.ANON, "[anon]", "[anon]")


def test_named_anonymous() -> None:
    # prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...), Linux 5.17.
    got = classify("[anon:libc_malloc]", "00:00", 0, "rw-p")

    assert got == MapName(Kind.ANON, "[anon:libc_malloc]", "[anon:libc_malloc]")


def test_named_shared_anonymous() -> None:
    got = classify("[anon_shmem:ring]", "00:01", 1045, "rw-s")

    assert got == MapName(Kind.SHARED_ANON, "[anon_shmem:ring]", "[anon_shmem:ring]")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("[heap]", Kind.HEAP),
        ("[stack]", Kind.STACK),
        ("[vdso]", Kind.VDSO),
        ("[vvar]", Kind.VVAR),
        ("[vvar_vclock]", Kind.VVAR),
        ("[vsyscall]", Kind.VSYSCALL),
        ("[uprobes]", Kind.PSEUDO),
        ("[stack:1234]", Kind.PSEUDO),  # thread stacks, Linux 3.4 to 4.4
        ("[something new]", Kind.PSEUDO),
    ],
)
def test_kernel_named(path: str, kind: Kind) -> None:
    assert classify(path, "00:00", 0, "rw-p") == MapName(kind, path, path)


def test_kind_values() -> None:
    assert [str(k) for k in Kind] == [
        "file",
        "anon",
        "heap",
        "stack",
        "vdso",
        "vvar",
        "vsyscall",
        "shm",
        "posix_shm",
        "memfd",
        "shared_anon",
        "pseudo",
    ]


def test_sysv_shm_segment() -> None:
    # shmget(0x414e4348, ...) then shmat: the shm mount is device 0:1, inode == shmid.
    got = classify("/SYSV414e4348 (deleted)", "00:01", 32769, "rw-s")

    name = "[shm key=0x414e4348 shmid=32769]"
    assert got == MapName(Kind.SHM, name, name, True, 0x414E4348, 32769)
    assert got.shm_key == 1095648072
    assert got.shmid == 32769


def test_sysv_shm_private_key_read_only() -> None:
    # IPC_PRIVATE (key 0), attached with SHM_RDONLY: still a shared mapping.
    got = classify("/SYSV00000000 (deleted)", "00:01", 7, "r--s")

    name = "[shm key=0x00000000 shmid=7]"
    assert got == MapName(Kind.SHM, name, name, True, 0, 7)


def test_sysv_name_on_a_real_disk_is_a_file() -> None:
    got = classify("/SYSV414e4348 (deleted)", "fe:00", 32769, "rw-s")

    assert got == MapName(
        Kind.FILE, "/SYSV414e4348 (deleted)", "SYSV414e4348 (deleted)", True, None, None
    )


def test_sysv_name_with_private_perms_is_a_file() -> None:
    got = classify("/SYSV414e4348 (deleted)", "00:01", 32769, "rw-p")

    assert got.kind is Kind.FILE
    assert got.name == "/SYSV414e4348 (deleted)"
    assert (got.shm_key, got.shmid) == (None, None)


def test_sysv_name_not_deleted_is_a_file() -> None:
    got = classify("/SYSV414e4348", "00:01", 32769, "rw-s")

    assert got == MapName(Kind.FILE, "/SYSV414e4348", "SYSV414e4348", False)


def test_memfd() -> None:
    got = classify("/memfd:wayland-shm (deleted)", "00:01", 2051, "rw-s")

    assert got == MapName(Kind.MEMFD, "/memfd:wayland-shm", "/memfd:wayland-shm", True)


def test_memfd_private_mapping() -> None:
    got = classify("/memfd:jit (deleted)", "00:01", 12, "r-xp")

    assert got == MapName(Kind.MEMFD, "/memfd:jit", "/memfd:jit", True)


def test_dev_zero_shared_is_shared_anonymous() -> None:
    # mmap(MAP_SHARED | MAP_ANONYMOUS): mm/shmem.c shmem_zero_setup names it "/dev/zero".
    got = classify("/dev/zero (deleted)", "00:01", 2060, "rw-s")

    assert got == MapName(Kind.SHARED_ANON, "[shared anon]", "[shared anon]", True)


def test_dev_zero_private_is_a_file() -> None:
    got = classify("/dev/zero (deleted)", "00:01", 2060, "rw-p")

    assert got == MapName(Kind.FILE, "/dev/zero (deleted)", "zero (deleted)", True)


def test_posix_shm() -> None:
    got = classify("/dev/shm/pulse-shm-1234", "00:1a", 5, "rw-s")

    assert got == MapName(Kind.POSIX_SHM, "/dev/shm/pulse-shm-1234", "/dev/shm/pulse-shm-1234")
    assert got.deleted is False


def test_posix_shm_unlinked() -> None:
    got = classify("/dev/shm/sem.x (deleted)", "00:1a", 5, "rw-s")

    assert got == MapName(
        Kind.POSIX_SHM, "/dev/shm/sem.x (deleted)", "/dev/shm/sem.x (deleted)", True
    )


def test_classify_table_from_parsed_maps() -> None:
    maps = parse_maps(
        b"56373fb4d000-56373fb6e000 rw-p 00000000 00:00 0                          [heap]\n"
        b"7f11cd6b1000-7f11cd6d3000 rw-p 00000000 00:00 0 \n"
        b"7f11cd6d3000-7f11cd6d4000 rw-s 00000000 00:01 32769                      "
        b"/SYSV414e4348 (deleted)\n"
        b"7f11cd75c000-7f11cd8b2000 r-xp 00026000 fe:00 339380                     "
        b"/usr/lib/x86_64-linux-gnu/libc.so.6\n"
        b"7f11cd8b2000-7f11cd905000 r--p 0017c000 fe:00 339380                     "
        b"/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    )

    names = classify_table(maps)

    assert [n.kind for n in names] == [Kind.HEAP, Kind.ANON, Kind.SHM, Kind.FILE, Kind.FILE]
    assert [n.short for n in names] == [
        "[heap]",
        "[anon]",
        "[shm key=0x414e4348 shmid=32769]",
        "libc.so.6",
        "libc.so.6",
    ]


# --- safe ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["cat", "/usr/lib/libc.so.6", "a) b (c)", "kworker/0:1H", "café", "日本語", "Ελληνικά", ""],
)
def test_safe_leaves_printable_text_alone(text: str) -> None:
    assert safe(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # ESC (an OSC title sequence) and BEL
        ("\x1b[2J", "\\x1b[2J"),
        ("a\x9bb", "a\\x9bb"),  # C1 CSI
        ("\x80\x9f", "\\x80\\x9f"),  # C1 range ends
        ("del\x7f", "del\\x7f"),
        ("tab\there", "tab\\x09here"),
        ("new\nline", "new\\x0aline"),
        ("nul\x00", "nul\\x00"),
        ("caf\udce9", "caf\\xe9"),  # the byte 0xe9 decoded with surrogateescape
        ("\udcff\udc80", "\\xff\\x80"),
        ("\ud800", "\\ud800"),  # a lone surrogate that is no escaped byte
        ("日本\x1b語", "日本\\x1b語"),
    ],
)
def test_safe_escapes_controls_and_undecodable_bytes(text: str, shown: str) -> None:
    assert safe(text) == shown


def test_safe_round_trip_of_a_non_utf8_file_name() -> None:
    name = b"/tmp/\xff\x1b[31mred".decode("utf-8", "surrogateescape")

    assert safe(name) == "/tmp/\\xff\\x1b[31mred"
