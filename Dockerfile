# syntax=docker/dockerfile:1
#
# The contacts-reconciler controller image.
#
#   docker build -t contacts-reconciler:0.1.0 .
#   docker run --rm contacts-reconciler:0.1.0 --help
#
# Stage 1 builds wheels for the project and every dependency; stage 2 installs them into a
# virtualenv; the final stage copies only that virtualenv onto a clean slim Python, so no
# compiler, build tool, pip cache or source tree ends up in the image.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the build needs (see .dockerignore): metadata first, then the package.
COPY pyproject.toml README.md ./
COPY reconciler ./reconciler
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS venv
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv /opt/reconciler \
    && /opt/reconciler/bin/pip install --no-index --find-links /wheels contacts-reconciler \
    && /opt/reconciler/bin/pip uninstall --yes pip setuptools wheel \
    && /opt/reconciler/bin/reconciler --version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="contacts-reconciler" \
      org.opencontainers.image.description="GitOps controller for Google Contacts" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric user, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
RUN groupadd --system --gid 10001 reconciler \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/reconciler --create-home \
       --shell /usr/sbin/nologin reconciler
COPY --from=venv /opt/reconciler /opt/reconciler
ENV PATH=/opt/reconciler/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /home/reconciler
USER 10001:10001
# 8080: /metrics; 8081: /healthz and /readyz.
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/healthz', timeout=4)"]
ENTRYPOINT ["reconciler", "run"]
