"""The console entry pauses the cyclic garbage collector while modules load, and turns it back
on before the command runs: long-running commands (watch, serve, top --watch) must collect."""

import gc
import json
import subprocess
import sys

import pytest


def _collector_seen_by_command(argv: list[str]) -> dict[str, object]:
    """Run entry() with ``argv`` in a fresh interpreter, the command's run() replaced by one
    that records whether the collector is on; the record and the exit status."""
    code = (
        "import gc, json, sys\n"
        "from memlens.cli import main as m\n"
        "seen = {}\n"
        "real = m._module\n"
        "def fake(name):\n"
        "    mod = real(name)\n"
        "    class Cmd:\n"
        "        @staticmethod\n"
        "        def run(args, env):\n"
        "            seen['enabled'] = gc.isenabled()\n"
        "            seen['frozen'] = gc.get_freeze_count() > 0\n"
        "            seen['command'] = args.command\n"
        "            return 0\n"
        "    return Cmd\n"
        "m._module = fake\n"
        f"sys.argv = ['memlens', *{argv!r}]\n"
        "try:\n"
        "    m.entry()\n"
        "except SystemExit as exc:\n"
        "    seen['status'] = exc.code\n"
        "print(json.dumps(seen))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    record: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return record


def test_the_collector_is_on_when_the_command_runs() -> None:
    assert _collector_seen_by_command(["top"]) == {
        "enabled": True,
        "frozen": True,
        "command": "top",
        "status": 0,
    }


def test_the_collector_is_on_for_a_long_running_command() -> None:
    seen = _collector_seen_by_command(["watch", "--help"])
    assert seen == {"status": 0}  # --help: argparse exits before any command runs
    assert _collector_seen_by_command(["maps", "1"])["enabled"] is True


def test_main_called_in_process_leaves_the_collector_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from memlens.cli import main as m

    ran: list[str] = []

    class Cmd:
        @staticmethod
        def run(args: object, env: object) -> int:
            ran.append("run")
            return 0

    monkeypatch.setattr(m, "_module", lambda name: Cmd)
    before = gc.get_freeze_count()
    assert gc.isenabled()
    assert m.main(["top"]) == 0
    assert ran == ["run"]
    assert gc.isenabled() and gc.get_freeze_count() == before
