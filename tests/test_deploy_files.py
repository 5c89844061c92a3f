"""docker-compose.yml: valid for the compose tool, four healthy services (nginx in front of the API
servers, PostgreSQL, Redis), the proxy the only published port, the servers trusting X-Forwarded-For
from the proxy only, secrets only from the environment; the README's compose commands name services
and commands that exist."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import yaml

from gql_telephony.cli import parser

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


def compose_services() -> dict[str, dict]:
    """The services as written (no compose client needed: `${...}` stays text)."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_only_the_proxy_publishes_a_port():
    services = compose_services()
    publishing = {name for name, service in services.items() if service.get("ports")}
    assert publishing == {"proxy"}, publishing
    assert len(services["proxy"]["ports"]) == 1
    assert not any(service.get("network_mode") == "host" for service in services.values())


# `docker compose` subcommands the README uses, and how their arguments name services.
SERVICE_THEN_COMMAND = {"exec", "run"}  # the first argument is the service, the rest its command
SERVICES_ONLY = {"up", "logs", "ps", "restart", "stop", "start", "build", "pull", "down"}
NO_SERVICES = {"version", "config"}


def compose_commands(text: str) -> list[str]:
    """What follows each `docker compose` in fenced code lines and inline code spans, up to a
    comment or the next shell command."""
    pieces: list[str] = []
    fenced = re.findall(r"^\s*```[a-z]*\n(.*?)^\s*```", text, re.MULTILINE | re.DOTALL)
    for block in fenced:
        pieces.extend(block.splitlines())
    prose = re.sub(r"^\s*```[a-z]*\n.*?^\s*```", "", text, flags=re.MULTILINE | re.DOTALL)
    pieces.extend(" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose))
    commands = []
    for piece in pieces:
        for rest in re.findall(r"docker compose (.*)", piece):
            commands.extend(part.strip() for part in [re.split(r"\s#|&&|\||;", rest)[0]] if part.strip())
    return commands


def named_services(command: str) -> tuple[str, list[str], list[str]]:
    """(subcommand, services named, the command run inside a service)."""
    words = shlex.split(command)
    subcommand, arguments = words[0], words[1:]
    services: list[str] = []
    inside: list[str] = []
    for index, word in enumerate(arguments):
        if word.startswith("--scale"):
            services.append(arguments[index + 1].split("=")[0] if word == "--scale" else word.split("=")[1])
        elif word.startswith("-") or (index > 0 and arguments[index - 1] == "--scale"):
            continue
        elif subcommand in SERVICE_THEN_COMMAND:
            services.append(word)
            inside = arguments[index + 1:]
            break
        else:
            services.append(word)
    assert subcommand in SERVICE_THEN_COMMAND | SERVICES_ONLY | NO_SERVICES, f"unknown subcommand in: {command}"
    if subcommand in NO_SERVICES:
        assert not services, command
    return subcommand, services, inside


def test_the_readme_compose_commands_name_services_that_exist():
    services = set(compose_services())
    cli_commands = set(parser()._subparsers._group_actions[0].choices)  # the subcommands argparse knows
    readme = (ROOT / "README.md").read_text()
    header = "\n".join(line.lstrip("# ") for line in (ROOT / "docker-compose.yml").read_text().splitlines()
                       if line.startswith("#"))
    commands = compose_commands(readme) + compose_commands("```\n" + header + "\n```\n")
    subcommands = {command.split()[0] for command in commands}
    assert {"up", "exec", "logs"} <= subcommands, commands  # start, first organization, logs: all documented
    for command in commands:
        subcommand, named, inside = named_services(command)
        assert set(named) <= services, (command, named, services)
        if inside[:1] == ["gql-telephony"]:
            assert inside[1] in cli_commands, command


def test_the_command_scanner_sees_a_wrong_service():
    """The README test above can fail: a renamed service or command is caught."""
    wrong = compose_commands("Run `docker compose exec app gql-telephony create-org x` then\n```sh\n"
                             "docker compose up -d --scale web=2  # more\n```\n")
    assert [named_services(command)[1] for command in wrong] == [["web"], ["app"]]
