# syntax=docker/dockerfile:1
# One image for every process of the Procfile (web, the four workers, the scheduler, the
# migration job): the Kubernetes manifests pick the process with the container's command.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment with the app and its runtime dependencies only ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so a code change does not reinstall them. The placeholder build's
# build/ goes: setuptools copies a source only when newer than its copy there, and the
# sources COPY'd below keep their older mtimes, so the empty __init__.py files would win.
COPY pyproject.toml setup.cfg README.md MANIFEST.in ./
RUN mkdir actors db fakes scheduler web \
    && touch actors/__init__.py db/__init__.py fakes/__init__.py scheduler/__init__.py web/__init__.py \
    && pip install . \
    && pip uninstall --yes patient-notifier \
    && rm -rf build ./*.egg-info
COPY actors ./actors
COPY db ./db
COPY fakes ./fakes
COPY scheduler ./scheduler
COPY web ./web
# A plain (non-editable) install without the [test]/[dev] extras: no pytest, ruff, honcho.
RUN pip install --no-deps . \
    && pip check \
    && python -m compileall -q /opt/venv

# --- runtime: the venv, tini as PID 1, an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update \
    && apt-get install --yes --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
COPY Procfile /app/Procfile
WORKDIR /app
# TZ=UTC: periodiq's cron runs in UTC; clinic times come from each location's own time zone.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TZ=UTC \
    PORT=8000
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000 9191
# tini forwards SIGTERM to the process and reaps Dramatiq's and gunicorn's children.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "8", \
     "--access-logfile", "-", "web:create_app()"]
