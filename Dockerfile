# The API server image: `docker compose up` runs it beside PostgreSQL and Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md requirements.lock ./
COPY gql_telephony ./gql_telephony
RUN pip install --constraint requirements.lock . && useradd --system --uid 10001 app

USER app
EXPOSE 8000
# `serve` brings the schema up to date before it listens.
CMD ["gql-telephony", "serve", "--host", "0.0.0.0", "--port", "8000"]
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"
