"""``locker commission``: test every free compartment's door from a terminal.

The running service owns the doors, so this talks to its API
(``/api/v1/staff/commissioning``) with the admin token of the config, as the
kiosk's *Mise en service* does with a staff PIN: each free compartment's relay is
pulsed in turn, the person pulls the door that opened and shuts it again, and a
table of what was found ends the run (see :mod:`locker.domain.commissioning`).
"""

from __future__ import annotations

import argparse
import json
import select
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from locker.config import ConfigError, config_path, load_settings

DEFAULT_CONFIG = Path("/etc/locker/locker.toml")
POLL_S = 0.3
GIVE_UP = 100  # calls in a row the service did not answer (about 30 s at POLL_S)
OUTCOME = {
    "ok": "the door opens and shuts",
    "no_door": "no door opened: check the relay (or the lock) and its wires",
    "other_door": "another door opened: swapped wires",
    "not_shut": "the door did not read shut again: reed switch missing or reversed",
}


class ApiError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # None: no answer at all


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.url = base.rstrip("/") + "/api/v1/staff/commissioning"
        self.token = token

    def call(self, method: str, path: str = "", body: object = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                answer: dict[str, Any] = json.loads(resp.read())
                return answer
        except urllib.error.HTTPError as exc:
            raise ApiError(_detail(exc), exc.code) from exc
        except OSError as exc:
            raise ApiError(f"the service does not answer at {self.url}: {exc}") from exc


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
        text = body.get("detail") or body.get("error") or body
    except ValueError:
        text = exc.reason
    return f"{exc.code}: {text}"


def fix_text(fix: dict[str, Any] | None) -> str:
    if not fix:
        return ""
    fields = [
        f"{k} = {fix[k]}"
        for k in ("relay_pin", "reed_pin", "board", "lock")
        if fix.get(k) is not None
    ]
    return f"give {fix['compartment']} " + ", ".join(fields)


def table(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in results:
        what = OUTCOME[r["outcome"]]
        if r["outcome"] == "other_door" and r.get("popped") == r["compartment"]:
            what = f"its door opened, read on {r['other']}'s switch: {fix_text(r.get('fix'))}"
        elif r["outcome"] == "other_door":
            what = f"{r.get('popped') or r['other']} opened instead: {fix_text(r.get('fix'))}"
        lines.append(f"  {r['compartment']:<6} {r['outcome']:<11} {what}")
    return lines


def _line(stdin: TextIO, wait_s: float) -> str | None:
    """A line typed within ``wait_s`` (None: nothing yet; "q" at end of input)."""
    ready, _, _ = select.select([stdin], [], [], wait_s)
    if not ready:
        return None
    line = stdin.readline()
    return line.strip().lower() if line else "q"


class Walk:
    """One run at the terminal: what was said, so each prompt is printed once."""

    def __init__(self, api: Api, out: TextIO, stdin: TextIO) -> None:
        self.api, self.out, self.stdin = api, out, stdin
        self.run: dict[str, Any] = {}
        self.said: set[tuple[str, str]] = set()

    def say(self, key: tuple[str, str], *lines: str) -> None:
        if key not in self.said:
            self.said.add(key)
            for line in lines:
                print(line, file=self.out)
            self.out.flush()

    def go(self, only: list[str] | None) -> dict[str, Any]:
        self.run = run = self.api.call("POST", body={"compartments": only} if only else {})
        started, failures = run["started_at"], 0
        total = len(run["remaining"]) + 1
        print(f"Commissioning {total} free compartment(s), {run['hardware']} doors.", file=self.out)
        print("Every door shut? Each compartment now opens in turn.", file=self.out)
        while self.run["active"]:
            self.prompt(total)
            answer = _line(self.stdin, POLL_S)
            try:
                got = self.answer(answer)
            except ApiError as exc:
                if exc.status is None:  # the service does not answer
                    failures += 1
                    if failures >= GIVE_UP:
                        raise
                    self.say(("service", "down"), f"  {exc}; trying again")
                elif "that step is over" not in str(exc):  # a typo: said, asked again
                    print(f"  {exc}", file=self.out, flush=True)
                    self.said.discard((self.run["step"]["compartment"], "asked"))
                continue
            failures = 0
            self.said.discard(("service", "down"))
            if got["started_at"] != started:  # restarted, or another run since
                raise ApiError("the run ended with the service (restarted?); run it again")
            self.run = got
            self.results()
        return self.run

    def prompt(self, total: int) -> None:
        step, sensed = self.run["step"], self.run["hardware"] == "gpio"
        cid = step["compartment"]
        if step["waiting"]:
            self.say(
                (cid, "waiting"),
                f"[{len(self.run['results']) + 1}/{total}] {cid}: its door reads OPEN.",
                "  Shut it: it is tested once it reads shut (Enter: it is shut; q: stop).",
            )
            return
        self.say(
            (cid, "pulsed"),
            f"[{len(self.run['results']) + 1}/{total}] {cid}: its door was unlocked.",
            *(
                (
                    "  Pull the door that opened, then shut it again.",
                    "  (Enter: it is shut · n: no door opened · r: again · q: stop)",
                )
                if sensed
                else (
                    "  Which door opened? Type its id (Enter alone: none opened;",
                    "  r: again · q: stop), then push it shut.",
                )
            ),
        )
        if step["asking"]:
            moved = ", ".join(d for d in step["opened"] if d != cid)
            self.say(
                (cid, "asked"),
                f"  The switch of {moved} moved, not {cid}'s. Which door really opened?",
                f"  Type its id ({cid}: its own door, read on the wrong switch).",
            )

    def answer(self, answer: str | None) -> dict[str, Any]:
        api, step = self.api, self.run["step"]
        sensed = self.run["hardware"] == "gpio"
        serial = {"serial": step["serial"]}  # an answer for this step, not the next one
        if answer is None:
            return api.call("GET")
        if answer == "q":
            return api.call("DELETE")
        if answer == "r":
            return api.call("POST", "/repeat", serial)
        if step["asking"] and answer in ("", "n"):
            print("  Type the id of the door that really opened.", file=self.out, flush=True)
            return api.call("GET")
        if answer == "n" or (answer == "" and not sensed and step["tapped"] is None):
            return api.call("POST", "/tap", {"compartment": None} | serial)
        if answer == "":
            return api.call("POST", "/done", serial)
        if sensed and not step["asking"]:
            print("  Enter, n, r or q (a door's id only when asked).", file=self.out, flush=True)
            return api.call("GET")
        run = api.call("POST", "/tap", {"compartment": answer.upper()} | serial)
        if run["active"] and run["step"]["compartment"] == step["compartment"]:
            self.say((step["compartment"], "tapped"), "  Push it shut (Enter once it is).")
        return run

    def results(self) -> None:
        for r in self.run["results"]:
            self.say((r["compartment"], "result"), f"  -> {table([r])[0].strip()}")


def command(args: argparse.Namespace) -> int:
    walk: Walk | None = None
    signal.signal(signal.SIGHUP, _interrupt)  # the SSH session dropped
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        url, token = _target(args)
        walk = Walk(Api(url, token), sys.stdout, sys.stdin)
        only = [c.strip().upper() for c in args.only.split(",")] if args.only else None
        run = walk.go(only)
    except ConfigError as exc:
        exc.report("locker commission: bad configuration:")
        return 2
    except ApiError as exc:
        print(f"locker commission: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C, a hang-up: the run stops, what was judged is kept
        if walk is None or not walk.run.get("active"):
            return 2
        try:
            run = walk.api.call("DELETE")
        except ApiError as exc:
            print(f"\nlocker commission: could not stop the run: {exc}", file=sys.stderr)
            return 2
        try:
            print("\nStopped.")
        except OSError:  # the terminal went with the session
            return 2
    try:
        return _summary(run)
    except OSError:
        return 2


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _summary(run: dict[str, Any]) -> int:
    results = run["results"]
    if run.get("stopped") == "timeout":
        print(f"\nStopped: nobody answered for {run['step_s']:.0f} s.")
    print("\nResults:")
    print("\n".join(table(results)) or "  (nothing tested)")
    failed = [r for r in results if r["outcome"] != "ok"]
    if failed:
        print(
            f"{len(failed)} failed: they are not booked until a run passes them. "
            "Fix the wiring (or the config, as said), then: locker commission --only "
            + ",".join(r["compartment"] for r in failed)
        )
    if run.get("stopped"):
        return 2  # not every compartment was tested
    return 1 if failed else 0


def _target(args: argparse.Namespace) -> tuple[str, str]:
    if args.url and args.token:
        return args.url, args.token
    path = config_path(args.config) or DEFAULT_CONFIG
    settings = load_settings(path)
    host = "127.0.0.1" if settings.api.host in ("0.0.0.0", "::") else settings.api.host  # noqa: S104
    admins = settings.api.tokens.get("admin") or []
    if not (args.token or admins):
        raise ConfigError([f"{path}: api.tokens.admin: no admin token"])
    return args.url or f"http://{host}:{settings.api.port}", args.token or admins[0]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "commission",
        help="test every free compartment's door in turn (the service must be running)",
    )
    p.add_argument("--config", help=f"TOML file (default: $LOCKER_CONFIG or {DEFAULT_CONFIG})")
    p.add_argument("--only", help="these compartments only, e.g. A1,B2")
    p.add_argument("--url", help="the service (default: from the config's [api])")
    p.add_argument("--token", help="an admin token (default: the config's first)")
    p.set_defaults(func=command)
