# Agora in one container: `agora run` with SQLite in the /data volume (README "Deployment").
# Debian slim with Python 3.11 and Apertium (en-es, es-pt), Python packages from requirements.lock.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AGORA_CONFIG=/etc/agora/config.toml

# Apertium is the offline engine `backend = "auto"` finds; sqlite3 is for backups (`.backup`).
RUN apt-get update \
    && apt-get install -y --no-install-recommends apertium apertium-eng-spa apertium-es-pt sqlite3 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system agora \
    && useradd --system --gid agora --home-dir /data --no-create-home --shell /usr/sbin/nologin agora

WORKDIR /app
# The lock first, so code changes do not reinstall every dependency.
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY translations ./translations
COPY benchmarks ./benchmarks
RUN pip install --no-deps .
COPY deploy/config.toml /etc/agora/config.toml

RUN mkdir -p /data && chown agora:agora /data
VOLUME ["/data"]
USER agora
EXPOSE 8080

# Liveness: /health answers any Host. Readiness (database and platform connections) is GET /ready.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status != 200)"]

# `agora run` stops cleanly on SIGTERM (docker stop): in-flight posts finish, the rest resume at the next start.
STOPSIGNAL SIGTERM
CMD ["agora", "run"]
