"""The Dockerfile, without a Docker engine: hadolint finds nothing, and the image's entry
command, with the image's environment (its paths moved under tmp), serves in a plain venv."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import EXAMPLE, ROOT, wait_for
from tests.procs import ServiceProcess

DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


@dataclass
class Stage:
    image: str
    env: dict[str, str] = field(default_factory=dict)
    instructions: dict[str, list[str]] = field(default_factory=dict)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    pairs = []
    for line in code.replace("\\\n", " ").splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            pairs.append((keyword.upper(), args.strip()))
    return pairs


def stages(text: str) -> list[Stage]:
    """The stages, their base image as built by default (global ``ARG`` defaults)."""
    found: list[Stage] = []
    defaults: dict[str, str] = {}
    for keyword, args in instructions(text):
        if keyword == "ARG" and not found:
            name, _, value = args.partition("=")
            defaults[name] = value
        elif keyword == "FROM":
            image = args.split()[0]
            for name, value in defaults.items():
                image = image.replace(f"${{{name}}}", value)
            found.append(Stage(image))
        elif keyword == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                found[-1].env[name] = value
        elif found:
            found[-1].instructions.setdefault(keyword, []).append(args)
    return found


def test_hadolint_finds_nothing() -> None:
    out = subprocess.run(
        [str(HADOLINT), "--no-color", "-f", "json", "-t", "style", str(DOCKERFILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(out.stdout or "[]") == [] and out.returncode == 0, out.stdout + out.stderr


def test_image_shape() -> None:
    build, final = stages(DOCKERFILE.read_text())
    assert build.image == final.image and re.fullmatch(r"python:3\.11-slim-\w+", final.image)
    user = final.instructions["USER"][-1]
    assert re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", user)  # numeric, not root
    assert "--groups gpio,dialout" in final.instructions["RUN"][0]
    assert final.instructions["VOLUME"] == ['["/var/lib/locker"]']
    assert final.instructions["EXPOSE"] == ["8000"]
    assert "/healthz" in final.instructions["HEALTHCHECK"][0]
    assert "curl" not in DOCKERFILE.read_text()
    # every file the build copies from the context passes .dockerignore's allow-list
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = [
        part
        for args in build.instructions["COPY"] + final.instructions["COPY"]
        if not args.startswith("--from")
        for part in args.split()[:-1]
    ]
    assert sources and all(s.rstrip("/") in allowed for s in sources), sources


def build_venv(tmp: Path, build: Stage, final: Stage) -> Path:
    """Run the image's two build steps here: stage 1's ``pip wheel`` on a copy of the
    build context, stage 2's venv and ``pip install --no-index`` of those wheels.
    Paths move under ``tmp``; pip may use its cache (``--no-cache-dir`` dropped)."""
    context = tmp / "context"
    context.mkdir()
    for args in build.instructions["COPY"]:
        *sources, _ = args.split()
        for source in sources:
            src, dst = ROOT / source, context / source
            if src.is_dir():
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(src, dst)
    venv = tmp / "venv"
    steps = [*build.instructions["RUN"], final.instructions["RUN"][-1]]
    for step in steps:
        step = re.sub(r"--mount=\S+\s+", "", step).replace(" --no-cache-dir", "")
        step = step.replace("/opt/locker/.venv", str(venv)).replace("/wheels", str(tmp / "wheels"))
        step = step.replace("/build", str(tmp / "build"))  # stage 1's own venv
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        done = subprocess.run(
            ["sh", "-c", step], cwd=context, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{step}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return venv


def test_entry_command_serves_in_a_plain_venv(tmp_path: Path) -> None:
    build, final = stages(DOCKERFILE.read_text())
    venv = build_venv(tmp_path, build, final)
    moved = {
        "/opt/locker/.venv": str(venv),
        "/var/lib/locker": str(tmp_path / "data"),
        "/etc/locker": str(tmp_path / "etc"),
    }

    def move(value: str) -> str:
        for image_path, here in moved.items():
            value = value.replace(image_path, here)
        return value.replace("$PATH", "/usr/bin:/bin")

    env = {name: move(value) for name, value in final.env.items()}
    env["LOCKER_MQTT__ENABLED"] = "false"  # the example config's broker is not ours
    workdir = Path(move(final.instructions["WORKDIR"][-1]))
    workdir.mkdir(parents=True)
    config = Path(env["LOCKER_CONFIG"])  # what `-v /etc/locker:/etc/locker:ro` brings
    config.parent.mkdir(parents=True)
    shutil.copy(EXAMPLE, config)

    entry = json.loads(final.instructions["ENTRYPOINT"][-1])
    cmd = json.loads(final.instructions["CMD"][-1])
    program = shutil.which(entry[0], path=env["PATH"])
    assert program is not None and Path(program).parent == venv / "bin"
    svc = ServiceProcess(
        tmp_path, argv=[program, *entry[1:], *cmd, "--simulate"], env=env, cwd=workdir
    )
    health = json.loads(final.instructions["HEALTHCHECK"][-1].partition("CMD ")[2])
    python = shutil.which(health[0], path=env["PATH"])
    assert python is not None and Path(python).parent == venv / "bin"
    probe_env = {**env, "LOCKER_API__PORT": str(svc.port)}
    try:
        svc.start()
        assert Path(env["LOCKER_STORAGE__PATH"]).is_file()  # the database is on the volume
        assert svc.client().get("/").status_code == 200  # the kiosk page is in the wheel
        probe = subprocess.run(
            [python, *health[1:]], env=probe_env, capture_output=True, timeout=60
        )
        assert probe.returncode == 0, probe.stderr
    finally:
        svc.stop()
    stopped = subprocess.run([python, *health[1:]], env=probe_env, capture_output=True, timeout=60)
    assert stopped.returncode != 0  # the healthcheck fails once the service is gone


def _group_adds(text: str) -> set[str]:
    return set(re.findall(r'--group-add "\$\(getent group (\w+) \| cut -d: -f3\)"', text))


def test_every_docker_run_example_adds_the_same_host_groups() -> None:
    """gpio and dialout own the devices; locker may read /etc/locker (0640 root:locker)."""
    readme = (ROOT / "README.md").read_text()
    header = "\n".join(
        line.lstrip("# ") for line in DOCKERFILE.read_text().splitlines() if line.startswith("#")
    )
    assert _group_adds(readme) == {"gpio", "dialout", "locker"}
    assert _group_adds(header) == _group_adds(readme)


def test_healthcheck_fails_while_the_door_hardware_is_unreachable(tmp_path: Path) -> None:
    """The HEALTHCHECK's own command line, against a real service on simulated Kerong
    boards: exit 0 while they answer, non-zero while board 0 is silent (``/healthz``
    503, its body kept), 0 again once it answers."""
    _, final = stages(DOCKERFILE.read_text())
    health = json.loads(final.instructions["HEALTHCHECK"][-1].partition("CMD ")[2])
    python = shutil.which(health[0], path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    assert python is not None
    svc = ServiceProcess(tmp_path, args=("--hardware", "kerong"))

    def probe() -> int:
        env = {**os.environ, "LOCKER_API__PORT": str(svc.port)}
        done = subprocess.run([python, *health[1:]], env=env, capture_output=True, timeout=60)
        return done.returncode

    def board(answering: bool) -> None:
        r = svc.client().post("/api/v1/sim/boards/0", json={"answering": answering})
        assert r.status_code == 200, r.text

    try:
        svc.start()
        assert probe() == 0
        board(answering=False)  # its power or its cable cut
        wait_for(lambda: svc.client().get("/healthz").status_code == 503, timeout=30)
        body = svc.client().get("/healthz").json()
        assert body["ok"] is False and body["doors"]["ok"] is False
        assert body["doors"]["boards"]["0"]["reachable"] is False and "free" in body
        assert probe() != 0
        board(answering=True)
        wait_for(lambda: svc.client().get("/healthz").status_code == 200, timeout=30)
        assert svc.client().get("/healthz").json()["ok"] is True
        assert probe() == 0
    finally:
        svc.stop()
