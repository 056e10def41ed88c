"""``memlens snapshot``: capture the /proc files memlens reads into one archive."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.cli.common import add_root_argument, open_root, parse_pid_list
from memlens.cli.env import Env
from memlens.errors import ExitStatus, NoSuchCgroup, UsageError
from memlens.procfs.root import ProcRoot


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="capture /proc into an archive to analyse anywhere",
        description="Capture the /proc files memlens reads (for the chosen processes, or "
        "all) and the system files, with a manifest, into one .tar.gz. Every command "
        "reads it back with --proc-root FILE.",
    )
    p.add_argument(
        "-p",
        "--pid",
        action="append",
        default=[],
        metavar="PID[,PID...]",
        help="capture these processes only (repeatable; default: every process)",
    )
    p.add_argument("-o", "--output", metavar="FILE.tar.gz", help="the archive to write")
    p.add_argument(
        "--script",
        action="store_true",
        help="print a POSIX sh script (busybox, toybox) that writes the same snapshot on a "
        "machine without Python: sh SCRIPT OUTPUT.tar.gz [PID...]",
    )
    p.add_argument(
        "--cgroup-root",
        metavar="PATH",
        default=None,
        help="also capture the memory cgroup files below PATH (default: /sys/fs/cgroup when "
        "reading the live /proc)",
    )
    add_root_argument(p)


def _cgroup_files(args: argparse.Namespace, root: ProcRoot, env: Env) -> dict[str, bytes] | None:
    """The memory cgroup files to keep: those below --cgroup-root; else those of a snapshot
    being copied, or the live hierarchy when /proc is live (a machine without one is said,
    not an error)."""
    from memlens.procfs.cgroupfs import LIVE_PATH, CgroupRoot, capture_files

    try:
        if args.cgroup_root is not None:
            return capture_files(CgroupRoot.open(args.cgroup_root))
        if root.manifest is not None:
            return capture_files(CgroupRoot.for_proc_root(root, None))
        if root.is_live and args.proc_root == "/proc":
            return capture_files(CgroupRoot.open(LIVE_PATH))
    except NoSuchCgroup as exc:
        if args.cgroup_root is not None:
            raise
        if root.manifest is None:
            env.error(f"no cgroup files captured: {exc}")
    return None


def _sysfs_files(args: argparse.Namespace, root: ProcRoot) -> dict[str, bytes] | None:
    """The /sys files memlens reads (THP, KSM, NUMA nodes): a snapshot's own when copying
    one, the live /sys when /proc is live."""
    from memlens.procfs.sysfs import SysRoot, capture_files

    if root.manifest is None and not (root.is_live and args.proc_root == "/proc"):
        return None
    sysfs = SysRoot.for_proc_root(root)
    return None if sysfs is None else capture_files(sysfs)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    if args.script:
        from memlens.procfs.capture_script import capture_script

        env.stdout.write(capture_script())
        return ExitStatus.OK
    if args.output is None:
        raise UsageError("snapshot: -o/--output FILE.tar.gz is required (or --script)")
    from memlens.procfs.capture import capture  # tarfile and friends: only this command

    pids = parse_pid_list(args.pid) if args.pid else None
    root = open_root(args)
    report = capture(
        root, args.output, pids, _cgroup_files(args, root, env), _sysfs_files(args, root)
    )
    if pids is not None:  # asked for by name: say what could not be had
        for pid, reason in report.skipped:
            env.error(f"process {pid}: not captured: {reason}")
    churn = f", {len(report.skipped)} exited meanwhile" if pids is None and report.skipped else ""
    env.stderr.write(
        f"memlens: wrote {args.output}: {len(report.pids)} process"
        f"{'' if len(report.pids) == 1 else 'es'}, "
        f"{report.files} files, {report.errors} unreadable files recorded{churn}\n"
    )
    if pids is not None and report.skipped:
        return ExitStatus.NO_SUCH_PROCESS
    return ExitStatus.OK
