"""The production smoke test: ``scripts/smoke.sh [SCENARIO ...]`` (``--list`` names them).

Run by the virtualenv made from requirements.txt alone (scripts/smoke.sh makes it); uses the
standard library only. Starts one stack (stack.py), runs the scenarios (scenarios.py) in order,
stops everything it started, and ends with the line ``smoke: N passed, M failed``; exits 1 when
anything failed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback

from client import Failure
from scenarios import SCENARIOS, Context
from stack import Config, Stack


def say(*args):
    print(*args, flush=True)


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/smoke.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="default: all, in this order: "
                        + ", ".join(SCENARIOS))
    parser.add_argument("--list", action="store_true", help="name the scenarios and stop")
    args = parser.parse_args(argv)
    if args.list:
        for name, fn in SCENARIOS.items():
            say(f"{name}: {' '.join(fn.__doc__.split())}")
        return 0
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; --list names them")
    chosen = args.scenarios or list(SCENARIOS)

    for sig in (signal.SIGTERM, signal.SIGHUP):  # an interrupted run still stops what it started
        signal.signal(sig, _interrupted)
    config = Config()
    stack = Stack(config, say)
    results: dict[str, str] = {}
    began = time.monotonic()
    try:
        say(f"smoke: starting kb (production settings, {config.venv.name}, gunicorn + worker + beat) "
            f"on 127.0.0.1:{config.web_port}; logs in {stack.logs}")
        try:
            stack.start()
            say(f"smoke: stack ready after {time.monotonic() - began:.1f} s")
        except BaseException as exc:
            say(f"smoke: the stack did not start: {type(exc).__name__}: {exc}")
            _tails(stack)
            results = {name: "not run" for name in chosen}
            if not isinstance(exc, Exception):
                raise
        for name in chosen:
            if name in results:
                break
            say(f"smoke: {name}")
            ctx = Context(stack, say)
            started = time.monotonic()
            try:
                stack.ensure_ready()
                SCENARIOS[name](ctx)
            except Exception as exc:
                results[name] = "failed"
                detail = str(exc) if isinstance(exc, Failure) else traceback.format_exc()
                say(f"smoke: FAIL {name} after {time.monotonic() - started:.1f} s: {detail}")
                _tails(stack)
            else:
                results[name] = "passed"
                say(f"smoke: PASS {name} ({time.monotonic() - started:.1f} s)")
    except KeyboardInterrupt as exc:
        say(f"smoke: interrupted ({exc}); stopping what was started")
        for name in chosen:
            results.setdefault(name, "not run")
    finally:
        stack.stop()
    passed = sum(1 for r in results.values() if r == "passed")
    failed = len(chosen) - passed
    say(f"smoke: {time.monotonic() - began:.0f} s in all; every process it started is stopped")
    say(f"smoke: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def _tails(stack):
    for role, proc in stack.procs.items():
        say(f"--- last lines of {proc.log}:\n{proc.tail(25)}")


if __name__ == "__main__":
    sys.exit(main())
