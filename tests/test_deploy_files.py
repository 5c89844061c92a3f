"""docker-compose.yml: valid for the compose tool, four healthy services (nginx in front of the API
servers, PostgreSQL, Redis), the servers trusting X-Forwarded-For from the proxy only, secrets
only from the environment."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from .backends import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent


def compose_command() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    skip_or_fail("no docker compose client on this machine (neither `docker compose` nor `docker-compose`)")


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*compose_command(), "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin:/usr/local/bin", **env}, cwd=ROOT)


def test_compose_file_is_valid_and_wires_the_services():
    result = compose_config({"POSTGRES_PASSWORD": "pw-from-env", "GQL_TELEPHONY_SECRET_KEYS": "keys-from-env"})
    assert result.returncode == 0, result.stderr
    rendered = result.stdout
    for service in ("proxy:", "api:", "postgres:", "redis:"):
        assert service in rendered
    assert rendered.count("healthcheck:") == 4
    assert "condition: service_healthy" in rendered
    assert "postgresql+asyncpg://telephony:pw-from-env@postgres:5432/telephony" in rendered
    assert "redis://redis:6379/0" in rendered


def test_compose_refuses_to_start_without_secrets_from_the_environment():
    result = compose_config({})
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr or "GQL_TELEPHONY_SECRET_KEYS" in result.stderr


def test_no_secret_is_written_in_the_deploy_files():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?" in compose
    assert "GQL_TELEPHONY_SECRET_KEYS: ${GQL_TELEPHONY_SECRET_KEYS:?" in compose
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "SECRET" not in dockerfile and 'CMD ["gql-telephony", "serve"' in dockerfile


def test_the_servers_sit_behind_the_proxy_and_trust_only_it():
    result = compose_config({"POSTGRES_PASSWORD": "pw", "GQL_TELEPHONY_SECRET_KEYS": "keys"})
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    proxy, api = services["proxy"], services["api"]
    proxy_address = proxy["networks"]["front"]["ipv4_address"]
    assert api["environment"]["GQL_TELEPHONY_TRUSTED_PROXIES"] == proxy_address
    assert "ports" not in api  # clients reach the servers only through the proxy
    assert any(str(port).endswith("8080") or "8080" in str(port) for port in proxy["ports"])
    assert any("deploy/nginx.conf" in str(volume) for volume in proxy["volumes"])


def test_the_proxy_config_cuts_off_slow_clients_and_passes_websockets():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for directive in ("client_header_timeout", "client_body_timeout", "limit_conn ", "limit_conn_zone",
                      "proxy_set_header Upgrade $http_upgrade", "proxy_set_header X-Forwarded-For $remote_addr",
                      "proxy_pass $api"):
        assert directive in conf, directive
    if shutil.which("nginx"):  # the syntax, where nginx is installed
        result = subprocess.run(["nginx", "-t", "-c", str(ROOT / "deploy" / "nginx.conf"), "-p", "/tmp",
                                 "-g", "pid /tmp/gql-telephony-nginx-test.pid; error_log stderr;"],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
