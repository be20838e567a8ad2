# The image of every Tracker DCS service in a `dcs deploy` stack (device services,
# safety, archiver). Built by docker compose from the generated docker-compose.yml.
FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /src \
    && useradd --system --uid 10001 --home-dir /var/lib/trackerdcs --create-home dcs
USER dcs
WORKDIR /var/lib/trackerdcs
ENTRYPOINT []
CMD ["dcs", "--help"]
