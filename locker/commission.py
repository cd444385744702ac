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
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from locker.config import ConfigError, config_path, load_settings

DEFAULT_CONFIG = Path("/etc/locker/locker.toml")
POLL_S = 0.3
OUTCOME = {
    "ok": "the door opens and shuts",
    "no_door": "no door opened: check the relay (or the lock) and its wires",
    "other_door": "another door opened: swapped wires",
    "not_shut": "the door did not read shut again: reed switch missing or reversed",
}


class ApiError(Exception):
    pass


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
            raise ApiError(_detail(exc)) from exc
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
        if r["outcome"] == "other_door":
            what = f"{r['other']} opened instead: {fix_text(r.get('fix'))}"
        lines.append(f"  {r['compartment']:<6} {r['outcome']:<11} {what}")
    return lines


def _line(stdin: TextIO, wait_s: float) -> str | None:
    """A line typed within ``wait_s`` (None: nothing yet; "q" at end of input)."""
    ready, _, _ = select.select([stdin], [], [], wait_s)
    if not ready:
        return None
    line = stdin.readline()
    return line.strip().lower() if line else "q"


def walk(api: Api, only: list[str] | None, out: TextIO, stdin: TextIO) -> dict[str, Any]:
    run = api.call("POST", body={"compartments": only} if only else {})
    total = len(run["remaining"]) + 1
    sensed = run["hardware"] == "gpio"
    print(f"Commissioning {total} free compartment(s), {run['hardware']} doors.", file=out)
    print("Every door shut? Each compartment now opens in turn.", file=out)
    shown: str | None = None
    while run["active"]:
        step = run["step"]
        if step["compartment"] != shown:
            shown = step["compartment"]
            done = len(run["results"])
            print(f"[{done + 1}/{total}] {shown}: its door was unlocked.", file=out)
            if sensed:
                print("  Pull the door that opened, then shut it again.", file=out)
                print("  (Enter: it is shut · n: no door opened · r: again · q: stop)", file=out)
            else:
                print("  Which door opened? Type its id (Enter alone: none opened;", file=out)
                print("  r: again · q: stop), then push it shut.", file=out)
            out.flush()
        answer = _line(stdin, POLL_S)
        if answer is None:
            run = api.call("GET")
        elif answer == "q":
            run = api.call("DELETE")
        elif answer == "r":
            run = api.call("POST", "/repeat")
        elif answer == "n" or (answer == "" and not sensed and step["tapped"] is None):
            run = api.call("POST", "/tap", {"compartment": None})
        elif answer == "":
            run = api.call("POST", "/done")
        elif not sensed:
            run = api.call("POST", "/tap", {"compartment": answer.upper()})
            if run["active"] and run["step"]["compartment"] == shown:
                print("  Push it shut (Enter once it is).", file=out)
                out.flush()
        _said(run, shown, out)
    return run


def _said(run: dict[str, Any], shown: str | None, out: TextIO) -> None:
    for r in run["results"]:
        if r["compartment"] == shown and (not run["active"] or run["step"]["compartment"] != shown):
            print(f"  -> {table([r])[0].strip()}", file=out)
            out.flush()


def command(args: argparse.Namespace) -> int:
    api: Api | None = None
    try:
        url, token = _target(args)
        api = Api(url, token)
        only = [c.strip().upper() for c in args.only.split(",")] if args.only else None
        run = walk(api, only, sys.stdout, sys.stdin)
    except ConfigError as exc:
        exc.report("locker commission: bad configuration:")
        return 2
    except ApiError as exc:
        print(f"locker commission: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: the run stops, what was judged is kept
        if api is not None:
            api.call("DELETE")
        return 2
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
