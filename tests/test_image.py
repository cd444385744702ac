"""The container image, built and run for real (issue 20): podman builds the Dockerfile
on a Debian base made with debootstrap (tools/image.py), then the container serves a
whole delivery through its API, healthy by its own HEALTHCHECK, as a numeric non-root
user on a read-only root filesystem with only its data volume writable, and ``podman
stop`` shuts it down cleanly.

Runs in ``make image-test`` and ``make soak`` (``LOCKER_IMAGE_TEST=1``: the base is made
if missing, about a minute); in ``make test`` only when the base is already cached.
Skipped, with the reason, where no container engine can run."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import EXAMPLE, wait_for
from tests.procs import free_port
from tools import image

UID = 10001  # the Dockerfile's USER
BOOKING = {
    "reservation_id": "IMG-1",
    "version": 1,
    "kind": "delivery",
    "size": "M",
    "recipient": "apt-12",
    "reference": "COLIS 88412",
    "expires_at": "2031-01-01T00:00:00+00:00",
}


@pytest.fixture(scope="module")
def built() -> Iterator[str]:
    problem = image.engine_problem()
    if problem:
        pytest.skip(f"no container engine runs here: {problem}")
    if not os.environ.get("LOCKER_IMAGE_TEST") and not image.has(image.BASE):
        pytest.skip(
            f"no cached base image {image.BASE}: `make image-test` makes one (debootstrap, "
            "about a minute) and runs this test"
        )
    image.base()
    tag = f"localhost/locker-controller:test-{os.getpid()}"
    took = image.build(tag)
    print(f"IMAGE REPORT {json.dumps({'build_s': round(took, 1), 'tag': tag})}")
    yield tag
    image.podman("rmi", "--force", tag, check=False, capture_output=True)


@pytest.fixture
def container(built: str, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, UID, UID)
    port = free_port()
    name = f"locker-test-{os.getpid()}"
    image.podman(
        "run",
        "--detach",
        f"--name={name}",
        "--network=host",
        "--read-only",
        f"--volume={data}:/var/lib/locker",
        f"--volume={EXAMPLE}:/etc/locker/locker.toml:ro",
        f"--env=LOCKER_API__PORT={port}",
        "--env=LOCKER_SECURITY__KEY_FILE=/var/lib/locker/locker.key",
        "--env=LOCKER_MQTT__ENABLED=false",
        built,
        "serve",
        "--simulate",
        capture_output=True,
    )
    try:
        yield name, f"http://127.0.0.1:{port}", data
    finally:
        image.podman("rm", "--force", "--time=5", name, check=False, capture_output=True)


def _inspect(name: str) -> dict[str, object]:
    out = image.podman("inspect", name, capture_output=True).stdout
    found: dict[str, object] = json.loads(out)[0]
    return found


def _door(client: httpx.Client, cid: str) -> None:
    for move in ("open", "close"):
        assert client.post(f"/api/v1/sim/doors/{cid}/{move}").status_code == 200
        time.sleep(0.3)


@pytest.mark.timeout(1200)
def test_the_image_serves_a_delivery_healthy_unprivileged_read_only(
    container: tuple[str, str, Path],
) -> None:
    name, url, data = container

    def healthy() -> bool:
        try:
            return bool(httpx.get(f"{url}/healthz", timeout=2).json().get("ok"))
        except (httpx.HTTPError, ValueError):
            return False

    wait_for(healthy, timeout=120, what="the container's /healthz")
    check = image.podman("healthcheck", "run", name, check=False, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr  # its own HEALTHCHECK
    state = _inspect(name)["State"]
    assert isinstance(state, dict)
    health = state.get("Health") or state.get("Healthcheck") or {}
    assert health.get("Status") == "healthy", state
    config = _inspect(name)["Config"]
    assert isinstance(config, dict) and config["User"] == f"{UID}:{UID}"
    assert "/healthz" in json.dumps(config.get("Healthcheck"))  # --format docker kept it
    who = image.podman("exec", name, "id", "-u", capture_output=True).stdout.strip()
    assert who == str(UID)
    denied = image.podman("exec", name, "touch", "/opt/x", check=False, capture_output=True)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr
    # a whole delivery through the API
    headers = {r: {"Authorization": f"Bearer demo-{r}"} for r in ("admin", "courier", "kiosk")}
    with httpx.Client(base_url=url, timeout=10) as client:

        def booking() -> dict[str, object]:
            found: dict[str, object] = client.get(
                "/api/v1/reservations/IMG-1", headers=headers["admin"]
            ).json()
            return found

        r = client.post("/api/v1/reservations", json=BOOKING, headers=headers["admin"])
        assert r.status_code == 200, r.text
        deposit = {"reservation_id": "IMG-1"}
        r = client.post("/api/v1/deposits", json=deposit, headers=headers["courier"])
        assert r.status_code == 200, r.text
        _door(client, r.json()["compartment"])
        code = booking()["pickup_code"]
        r = client.post("/api/v1/pickups", json={"code": code}, headers=headers["kiosk"])
        assert r.status_code == 200, r.text
        _door(client, r.json()["compartment"])
        wait_for(lambda: booking()["state"] == "collected", timeout=30, what="collected")
    assert (data / "locker.db").exists() and (data / "locker.key").stat().st_uid == UID
    # a clean stop: SIGTERM, the lifespan's shutdown, exit 0 (no SIGKILL after the grace)
    began = time.monotonic()
    image.podman("stop", "--time=30", name, capture_output=True)
    stopped_s = time.monotonic() - began
    state = _inspect(name)["State"]
    assert isinstance(state, dict) and state["ExitCode"] == 0, state  # not 137: no SIGKILL
    logs = image.podman("logs", name, capture_output=True)
    assert "Application shutdown complete" in logs.stdout + logs.stderr
    print(f"IMAGE REPORT {json.dumps({'stop_s': round(stopped_s, 2)})}")
