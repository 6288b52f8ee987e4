# capplan in a container: the load generator (master and workers of `capplan export k8s-loadtest`),
# and every other capplan command. Build from the repository root:
#   docker build -t capplan:0.1.0 .
# Users' own locustfiles: build FROM this image and COPY them in (see docs/distributed.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Only what `pip install .` needs (pyproject's readme is README.md), plus the bundled locustfiles.
COPY pyproject.toml README.md ./
COPY capplan ./capplan
COPY loadtests ./loadtests
RUN pip install . \
    && useradd --create-home --uid 10001 capplan \
    && mkdir -p /runs \
    && chown capplan /runs

# Not root: the manifests run the pods as uid 10001 with fsGroup 10001, so the run volume is writable.
USER 10001
WORKDIR /home/capplan
# The Locust master port (`--master-port`, default 5557).
EXPOSE 5557
CMD ["capplan", "--help"]
