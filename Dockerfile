# ICP Align in HTTP mode. Build: docker build -t icp-align .
# Run: docker run -p 3000:3000 -e SLACK_BOT_TOKEN=... -e SLACK_SIGNING_SECRET=... -e DATABASE_URL=... icp-align
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY survey ./survey
COPY storage ./storage
RUN pip install ".[postgres]" \
    && useradd --create-home --uid 10001 icp
USER icp
WORKDIR /home/icp

EXPOSE 3000
# --migrate applies the migrations to DATABASE_URL (PostgreSQL) before the bot starts
CMD ["icp-bot", "run", "--http", "--host", "0.0.0.0", "--port", "3000", "--migrate"]
