# First draft (issue 7 finishes it): a multi-stage image for amd64 and arm64.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY locker ./locker
COPY api ./api
COPY firmware_bridge ./firmware_bridge
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN groupadd --system gpio && useradd --system --create-home --groups gpio,dialout locker
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config /etc/locker
WORKDIR /var/lib/locker
RUN chown locker:locker /var/lib/locker
USER locker
VOLUME ["/var/lib/locker"]
EXPOSE 8000
ENV LOCKER_CONFIG=/etc/locker/locker.toml \
    LOCKER_STORAGE__PATH=/var/lib/locker/locker.db
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["locker", "serve"]
