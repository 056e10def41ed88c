"""``memlens snapshot --script``: a POSIX sh script that writes the snapshot memlens writes
(procfs/capture.py), for machines without Python (Android's ``adb shell``, embedded boards
with busybox or toybox). It needs sh, cat, readlink, find, sed, sort, mkdir, rm and tar with
gzip; the file lists come from capture.py and cgroupfs.py at print time, so they cannot drift.

What it cannot do as memlens does: errno names come from the text cat/readlink print
(strerror), so a tool that prints none (toybox readlink) makes the script tell EACCES from
ENOENT by whether the link itself exists; capture_time has whole seconds; the clock tick is
``getconf CLK_TCK`` or, without getconf, 100 (USER_HZ on every architecture Android and
embedded Linux run on); names of users come from /etc/passwd and /etc/group only.
"""

from __future__ import annotations

from memlens.procfs.archive import SNAPSHOT_FORMAT, SNAPSHOT_VERSION
from memlens.procfs.capture import PID_FILES, PID_LINKS, SYSTEM_FILES
from memlens.procfs.cgroupfs import CAPTURED_V1, CAPTURED_V2
from memlens.procfs.sysfs import CAPTURED as SYSFS_CAPTURED

_TEMPLATE = r"""#!/bin/sh
# memlens snapshot, without Python: sh memlens-snapshot.sh OUTPUT.tar.gz [PID...]
# Writes the archive `memlens snapshot -o OUTPUT.tar.gz [-p PID,...]` writes; read it with
# `memlens COMMAND --proc-root OUTPUT.tar.gz`. MEMLENS_PROC (default /proc) and
# MEMLENS_CGROUP (default /sys/fs/cgroup; "none": no cgroup files), MEMLENS_SYS (default
# /sys; "none": no THP, KSM and NUMA settings) name what to read.
set -u
PID_FILES="@PID_FILES@"
PID_LINKS="@PID_LINKS@"
SYSTEM_FILES="@SYSTEM_FILES@"
CGROUP_V1="@CGROUP_V1@"
CGROUP_V2="@CGROUP_V2@"
SYSFS_FILES="@SYSFS_FILES@"
P=${MEMLENS_PROC:-/proc}
CG=${MEMLENS_CGROUP:-/sys/fs/cgroup}
SYS=${MEMLENS_SYS:-/sys}
[ $# -ge 1 ] || { echo "usage: sh $0 OUTPUT.tar.gz [PID...]" >&2; exit 2; }
OUT=$1; shift
case $OUT in /*) ;; *) OUT=$(pwd)/$OUT ;; esac
W=$(mktemp -d 2>/dev/null || { d=/tmp/memlens-snap.$$; mkdir "$d" && echo "$d"; }) || exit 1
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$W/proc" "$W/meta"
: > "$W/meta/links"; : > "$W/meta/errors"; : > "$W/meta/pids"
# readlink -v (busybox, GNU) says why a link cannot be read; toybox's has no -v
if readlink -v "$P/self" >/dev/null 2>&1; then RL="readlink -v"; else RL=readlink; fi

errno_of() {  # strerror text (cat's, readlink's) -> errno name, as memlens records it
    case $1 in  # memlens records EPERM as EACCES: both are "permission denied"
        *"Permission denied"*|*"Operation not permitted"*) echo EACCES ;;
        *"No such process"*) echo ESRCH ;;
        *"No such file"*) echo ENOENT ;;
        *"Invalid argument"*) echo EINVAL ;;
        *"not supported"*) echo EOPNOTSUPP ;;
        *"Is a directory"*) echo EISDIR ;;
        *"Not a directory"*) echo ENOTDIR ;;
        *) echo EIO ;;
    esac
}

json_str() {  # a JSON string of $1 (backslashes, quotes and tabs escaped)
    printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g')"
}

grab() {  # grab SRC_DIR REL DEST_DIR META_DIR PREFIX: copy a file, or record why not
    mkdir -p "$3/$(dirname "$2")"
    if msg=$(cat "$1/$2" 2>&1 >"$3/$2"); then
        return 0
    fi
    rm -f "$3/$2"
    printf '%s\t%s\n' "$5$2" "$(errno_of "$msg")" >> "$4/errors"
}

link() {  # link PID NAME META_DIR
    if target=$($RL "$P/$1/$2" 2>"$3/rlerr"); then
        printf '%s\t%s\n' "$1/$2" "$target" >> "$3/links"
        return 0
    fi
    msg=$(cat "$3/rlerr")
    if [ -z "$msg" ]; then  # a readlink that says nothing: the link exists but is guarded
        if [ -L "$P/$1/$2" ]; then msg="Permission denied"; else msg="No such file"; fi
    fi
    printf '%s\t%s\n' "$1/$2" "$(errno_of "$msg")" >> "$3/errors"
}

identity() {  # start time and zombie-ness of a process (fields 22 and 3 of stat), or
    # nothing if it is gone or exiting (PF_EXITING in field 9: its files read empty meanwhile)
    s=$(cat "$P/$1/stat" 2>/dev/null) || return 0
    [ -n "$s" ] || return 0
    rest=${s##*) }
    # shellcheck disable=SC2086
    set -- $rest
    [ $# -ge 20 ] || return 0
    case $1 in Z|X) z=1 ;; *) z=0 ;; esac
    eval "start=\${20}"
    if [ "$z" = 0 ] && [ $(($7 & 4)) -ne 0 ]; then return 0; fi
    echo "$start $z"
}

capture_process() {  # capture_process PID: 0 if kept
    before=$(identity "$1")
    [ -n "$before" ] || return 1
    M="$W/p.$1"; mkdir -p "$M"; : > "$M/errors"; : > "$M/links"
    for f in $PID_FILES; do grab "$P/$1" "$f" "$W/proc/$1" "$M" "$1/"; done
    for l in $PID_LINKS; do link "$1" "$l" "$M"; done
    after=$(identity "$1")
    if [ "$after" != "$before" ]; then rm -rf "$M" "$W/proc/$1"; return 1; fi  # exited
    cat "$M/errors" >> "$W/meta/errors"; cat "$M/links" >> "$W/meta/links"
    echo "$1" >> "$W/meta/pids"
    rm -rf "$M"
    return 0
}

for f in $SYSTEM_FILES; do grab "$P" "$f" "$W/proc" "$W/meta" ""; done

if [ $# -gt 0 ]; then WANTED=$(printf '%s\n' "$@" | sort -un); else
    WANTED=$(cd "$P" && for d in [0-9]*; do echo "$d"; done | sort -n); fi
asked=$#; skipped=0
for pid in $WANTED; do
    if ! capture_process "$pid"; then
        skipped=$((skipped + 1))
        [ "$asked" -gt 0 ] && echo "memlens: process $pid: not captured" >&2
    fi
done

capture_cgroups() {  # the memory hierarchy: v1 memory.usage_in_bytes, v2 with memory
    for base in "" memory unified; do
        d="$CG${base:+/$base}"
        if [ -e "$d/memory.usage_in_bytes" ]; then names=$CGROUP_V1; break; fi
        if [ -e "$d/cgroup.controllers" ]; then
            case " $(cat "$d/cgroup.controllers" 2>/dev/null) " in
                *" memory "*) names=$CGROUP_V2; break ;;
            esac
        fi
        d=""
    done
    if [ -z "$d" ]; then
        echo "memlens: no cgroup files captured: no memory hierarchy in $CG" >&2
        return 0
    fi
    mkdir -p "$W/cgroup"
    [ "$names" = "$CGROUP_V2" ] && cat "$d/cgroup.controllers" > "$W/cgroup/cgroup.controllers"
    find "$d" -type d | while IFS= read -r g; do
        rel=${g#"$d"}; rel=${rel#/}
        for n in $names; do
            mkdir -p "$W/cgroup/$rel"
            msg=$(cat "$g/$n" 2>&1 >"$W/cgroup/$rel/$n") && continue
            rm -f "$W/cgroup/$rel/$n"
            case $(errno_of "$msg") in  # what the kernel lacks stays missing; refusals are kept
                ENOENT|EINVAL|EOPNOTSUPP) ;;
                *) printf '%s\t%s\n' "cgroup/${rel:+$rel/}$n" "$(errno_of "$msg")" \
                       >> "$W/meta/errors" ;;
            esac
        done
    done
}
[ "$CG" = none ] || capture_cgroups
if [ "$SYS" != none ]; then
    for f in $SYSFS_FILES; do
        mkdir -p "$W/sysfs/$(dirname "$f")"
        cat "$SYS/$f" > "$W/sysfs/$f" 2>/dev/null || rm -f "$W/sysfs/$f"
    done
fi

ids() {  # ids KEY COLUMNS...: numbers on the KEY line of every status file, and sysvipc columns
    key=$1; shift; want="$*"
    for s in "$W"/proc/[0-9]*/status; do
        [ -f "$s" ] || continue
        while read -r k a b c d; do
            [ "$k" = "$key" ] && printf '%s\n%s\n%s\n%s\n' "$a" "$b" "$c" "$d"
        done < "$s"
    done
    for t in "$W"/proc/sysvipc/shm "$W"/proc/sysvipc/msg "$W"/proc/sysvipc/sem; do
        [ -f "$t" ] || continue
        cols=""
        { read -r header
          i=1
          for h in $header; do
              for c in $want; do [ "$h" = "$c" ] && cols="$cols $i"; done
              i=$((i + 1))
          done
          while read -r line; do
              # shellcheck disable=SC2086
              set -- $line
              for i in $cols; do eval "echo \${$i}"; done
          done; } < "$t"
    done
}

names() {  # names DATABASE KEY COLUMNS...: a JSON object id -> name ("the number" if none)
    db=$1; shift
    first=1; printf '{'
    for id in $(ids "$@" | sort -un); do
        name=$id
        while IFS=: read -r n x i rest; do
            [ "$i" = "$id" ] && { name=$n; break; }
        done 2>/dev/null < "$db"
        [ $first = 1 ] || printf ', '
        first=0; printf '"%s": %s' "$id" "$(json_str "$name")"
    done
    printf '}'
}

table() {  # a JSON object from "key<TAB>value" lines
    first=1; printf '{'
    while IFS='	' read -r k v; do
        [ $first = 1 ] || printf ', '
        first=0; printf '%s: %s' "$(json_str "$k")" "$(json_str "$v")"
    done < "$1"
    printf '}'
}

page=$(getconf PAGESIZE 2>/dev/null) || page=""
if [ -z "$page" ]; then
    while read -r k v u; do
        [ "$k" = KernelPageSize: ] && { page=$((v * 1024)); break; }
    done < "$P/self/smaps"
fi
hz=$(getconf CLK_TCK 2>/dev/null) || hz=100
[ -n "$hz" ] || hz=100
btime=null
while read -r k v; do [ "$k" = btime ] && btime=$v; done < "$P/stat"
pids=$(sort -n "$W/meta/pids" | tr '\n' ' ' | sed -e 's/ *$//' -e 's/ /, /g')
{
    printf '{"format": "@FORMAT@", "version": @VERSION@,\n'
    printf ' "kernel_release": %s,\n' "$(json_str "$(cat "$P/sys/kernel/osrelease")")"
    printf ' "page_size": %s, "clock_ticks": %s, "boot_time": %s, "capture_time": %s,\n' \
        "$page" "$hz" "$btime" "$(date +%s)"
    printf ' "hostname": %s,\n' "$(json_str "$(cat "$P/sys/kernel/hostname")")"
    printf ' "pids": [%s],\n' "$pids"
    printf ' "links": %s,\n' "$(table "$W/meta/links")"
    printf ' "errors": %s,\n' "$(table "$W/meta/errors")"
    printf ' "users": %s,\n' "$(names /etc/passwd Uid: uid cuid)"
    printf ' "groups": %s,\n' "$(names /etc/group Gid: gid cgid)"
    if [ "$asked" -gt 0 ]; then every=false; else every=true; fi
    printf ' "every_process": %s}\n' "$every"
} > "$W/manifest.json"
files=$(find "$W/proc" "$W/cgroup" "$W/sysfs" -type f 2>/dev/null | wc -l)
parts="manifest.json proc"
for d in cgroup sysfs; do [ -d "$W/$d" ] && parts="$parts $d"; done
# shellcheck disable=SC2086
(cd "$W" && tar czf "$OUT" $parts) || {
    echo "memlens: cannot write $OUT" >&2; exit 12; }
n=$(wc -l < "$W/meta/pids")
echo "memlens: wrote $OUT: $n processes, $files files, $skipped not captured" >&2
[ "$asked" -gt 0 ] && [ "$skipped" -gt 0 ] && exit 3
exit 0
"""


def capture_script() -> str:
    """The script, with memlens's file lists."""
    values = {
        "@PID_FILES@": " ".join(PID_FILES),
        "@PID_LINKS@": " ".join(PID_LINKS),
        "@SYSTEM_FILES@": " ".join(SYSTEM_FILES),
        "@CGROUP_V1@": " ".join(CAPTURED_V1),
        "@CGROUP_V2@": " ".join(CAPTURED_V2),
        "@SYSFS_FILES@": " ".join(SYSFS_CAPTURED),
        "@FORMAT@": SNAPSHOT_FORMAT,
        "@VERSION@": str(SNAPSHOT_VERSION),
    }
    text = _TEMPLATE
    for key, value in values.items():
        text = text.replace(key, value)
    return text
