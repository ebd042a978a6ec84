# distro's container image: the wheel built from this checkout (with the PostgreSQL driver), installed into
# python:3.11-slim and run as an unprivileged user. Not built or run on the machine it was written on (no
# image can be pulled there); it is checked with hadolint only. See README, "Docker".
#
#   docker build -t distro .
#   docker run --rm -p 8000:8000 -e DISTRO_SECRET_KEY=... -v distro-var:/srv/distro/var distro
#
# The entry point is `distro`, the default command `distro run` (every role in one process, web app on
# 0.0.0.0:8000); any other command replaces it: `docker run ... distro worker`, `... distro init`.

FROM python:3.11-slim AS build
WORKDIR /src
# Only what the wheel is built from: the package, the templates and example.toml mapped into it.
COPY pyproject.toml README.md LICENSE ./
COPY src/ src/
COPY templates/ templates/
COPY config/example.toml config/
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels ".[postgres]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DISTRO_LOG_FORMAT=json
# Every wheel the build stage made: distro and its dependencies, psycopg included, and nothing else.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --disable-pip-version-check --no-index /wheels/*.whl \
    && groupadd --gid 10001 distro \
    && useradd --no-log-init --create-home --uid 10001 --gid 10001 distro \
    && mkdir -p /srv/distro/var \
    && chown -R distro:distro /srv/distro
# The site folder: var/ (the signing key unless DISTRO_SECRET_KEY is set, file outboxes, SQLite when no
# DISTRO_DATABASE_URL is given); mount config/distro.toml and templates/ here to use a site's own.
WORKDIR /srv/distro
VOLUME ["/srv/distro/var"]
USER 10001:10001
EXPOSE 8000
# /healthz answers 200 while the database does (roles all and web); python's urllib, since slim has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["distro"]
CMD ["run", "--host", "0.0.0.0", "--port", "8000"]
