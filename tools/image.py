"""``make image``: the container image built for real with podman, on a Debian base made
here with debootstrap when Docker Hub cannot be reached (issue 20).

    python -m tools.image base     # localhost/locker-base:bookworm, unless it is there
    python -m tools.image build    # localhost/locker-controller:dev from the Dockerfile

podman runs with Debian's ``runc`` and a containers.conf without default ulimits
(``docs/container.md`` says why); pip in the build uses the host's network and CA
bundle, as the host's own pip does.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = "localhost/locker-base:bookworm"
IMAGE = "localhost/locker-controller:dev"
SUITE = "bookworm"
PACKAGES = "python3,python3-venv,ca-certificates"
RUNC = "/usr/sbin/runc"
CONF = ROOT / "var" / "image" / "containers.conf"
CA = Path("/etc/ssl/certs/ca-certificates.crt")
PIP_CONF = Path("/etc/pip.conf")
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")


def env() -> dict[str, str]:
    """podman's environment: our containers.conf (no default ulimits, runc)."""
    CONF.parent.mkdir(parents=True, exist_ok=True)
    CONF.write_text('[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n')
    return {**os.environ, "CONTAINERS_CONF": str(CONF)}


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise FileNotFoundError(f"no {name}")
    return found


def podman(*args: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    done: subprocess.CompletedProcess[str] = subprocess.run(
        [_tool("podman"), "--runtime", RUNC, *args],
        env=env(),
        check=check,
        text=True,
        **kw,  # type: ignore[call-overload]
    )
    return done


def engine_problem() -> str | None:
    """Why no image can be built and run here, or None."""
    for tool in ("podman", "debootstrap"):
        if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
            return f"no {tool} (Debian package {tool})"
    if not Path(RUNC).exists():
        return "no runc (Debian package runc)"
    info = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False, capture_output=True)
    if info.returncode != 0:
        return f"podman cannot run here: {info.stderr.strip()[-300:]}"
    return None


def has(image: str) -> bool:
    return podman("image", "exists", image, check=False).returncode == 0


def mirror() -> str:
    """The Debian mirror this machine's apt uses (debootstrap fetches from it)."""
    if SOURCES.exists():
        found = re.search(r"^URIs:\s*(\S+)", SOURCES.read_text(), re.MULTILINE)
        if found:
            return found.group(1)
    return "http://deb.debian.org/debian"


def base() -> float:
    """Make the base image, unless it is there; answer the seconds it took (0: cached)."""
    if has(BASE):
        return 0.0
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="locker-base-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        subprocess.run(
            [
                _tool("debootstrap"),
                "--variant=minbase",
                f"--include={PACKAGES}",
                SUITE,
                str(rootfs),
                mirror(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tar = subprocess.Popen([_tool("tar"), "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        podman("import", "-", BASE, stdin=tar.stdout, stdout=subprocess.DEVNULL)
        assert tar.wait() == 0
    return time.monotonic() - began


def build(tag: str = IMAGE) -> float:
    """Build the Dockerfile on the base; answer the seconds it took."""
    began = time.monotonic()
    mounts = [f"--volume={CA}:{CA}:ro"]
    if PIP_CONF.exists():  # the host's pip settings (its CA bundle), for stage 1's pip
        mounts.append(f"--volume={PIP_CONF}:{PIP_CONF}:ro")
    podman(
        "build",
        "--format=docker",  # the OCI format drops HEALTHCHECK
        "--network=host",
        *mounts,
        f"--build-arg=BASE={BASE}",
        f"--tag={tag}",
        str(ROOT),
    )
    return time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.image")
    parser.add_argument("step", choices=["base", "build", "all"])
    args = parser.parse_args(argv)
    problem = engine_problem()
    if problem:
        print(f"tools.image: {problem}", file=sys.stderr)
        return 2
    if args.step in ("base", "all"):
        took = base()
        print(f"base {BASE}: " + (f"made in {took:.0f} s" if took else "already there"))
    if args.step in ("build", "all"):
        print(f"image {IMAGE}: built in {build():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
