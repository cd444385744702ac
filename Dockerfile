# syntax=docker/dockerfile:1
# The locker controller as a container image, for linux/arm64 (Raspberry Pi OS
# 64-bit, Pi 4 and Pi 5) and linux/amd64, from one Dockerfile with no
# architecture-specific step:
#
#   docker buildx build --platform linux/arm64,linux/amd64 -t locker-controller .
#
# Run it on the Pi with the host's network (the kiosk page gets its token only
# from a loopback client, and the lockout tells terminals apart by address),
# the GPIO chip and the serial ports passed in, and the host's group ids for
# them (the ids of gpio and dialout differ between the image and the host), and
# for locker, the group that may read /etc/locker:
#
#   docker run -d --name locker --restart unless-stopped --network host \
#     --device /dev/gpiochip0 --device /dev/ttyUSB0 \
#     --group-add "$(getent group gpio | cut -d: -f3)" \
#     --group-add "$(getent group dialout | cut -d: -f3)" \
#     --group-add "$(getent group locker | cut -d: -f3)" \
#     -v /etc/locker:/etc/locker:ro -v locker-data:/var/lib/locker \
#     locker-controller
#
# /etc/locker/locker.toml is the cabinet's config and /etc/locker/locker.key its
# key_file, both 0640 root:locker (README, "Install on a Raspberry Pi").
# `docker run … locker-controller backup /var/lib/locker/backup.db` runs any
# other `locker` command. On a Pi 5, the header's chip is /dev/gpiochip4 on
# older kernels: pass the one `gpioinfo` names.

# The base: Docker Hub's Python image by default. Any Debian root with python3
# (3.11 or later), python3-venv and ca-certificates will do, e.g. one made with
# debootstrap where Docker Hub cannot be reached (`make image`, docs/container.md):
#   podman build --format docker --build-arg BASE=localhost/debian-base:bookworm .
ARG BASE=python:3.11-slim-trixie

# Stage 1: wheels of the app and of every dependency (lgpio too on arm64, through
# the `pi` extra's platform marker), built where a compiler could be added.
FROM ${BASE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY locker ./locker
COPY api ./api
COPY firmware_bridge ./firmware_bridge
# the example config and the unit: data files of the wheel, for `locker setup`
COPY config ./config
RUN python3 -m venv /build \
    && /build/bin/pip wheel --no-cache-dir --wheel-dir /wheels ".[pi]"

# Stage 2: the wheels installed in a venv; no build tool, no pip cache, no root.
FROM ${BASE}
# A fixed numeric id (USER below), so the volume's owner is known on the host too.
RUN groupadd --system gpio \
    && groupadd --system --gid 10001 locker \
    && useradd --system --uid 10001 --gid locker --groups gpio,dialout \
        --home-dir /var/lib/locker --no-create-home --shell /usr/sbin/nologin locker \
    && install -d -o locker -g locker -m 0750 /var/lib/locker
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python3 -m venv /opt/locker/.venv \
    && /opt/locker/.venv/bin/pip install --no-cache-dir --no-index /wheels/*.whl
COPY config/locker.example.toml /etc/locker/locker.example.toml

# NOTE: lgpio makes its notification pipes (.lgd-nfy*) in LG_WD: the data volume.
ENV PATH=/opt/locker/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LG_WD=/var/lib/locker \
    LOCKER_CONFIG=/etc/locker/locker.toml \
    LOCKER_STORAGE__PATH=/var/lib/locker/locker.db
WORKDIR /var/lib/locker
USER 10001:10001
VOLUME ["/var/lib/locker"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:' + os.environ.get('LOCKER_API__PORT', '8000') + '/healthz', timeout=4)"]
ENTRYPOINT ["locker"]
CMD ["serve"]
