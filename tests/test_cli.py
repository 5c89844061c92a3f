"""The command line as a user runs it: real processes, a real uvicorn server, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from gql_telephony.crypto import Vault

from .live.server import CLI, ROOT, running_server
from .services.test_rotation import seed, stored_tokens
from .support import app_client, bearer

CONFIGS = "{ telephonyConfigs(first: 20) { nodes { id name provider config version } } }"


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GQL_TELEPHONY_")}
    env["GQL_TELEPHONY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_export_schema_equals_the_committed_schema():
    exported = run(["export-schema"], os.environ.copy()).stdout
    assert exported.strip() == (ROOT / "schema.graphql").read_text().strip()


def test_create_org_and_key_then_serve_and_stop_cleanly(tmp_path):
    env = cli_env(tmp_path)
    org_id = run(["create-org", "Acme Calls"], env).stdout.strip().splitlines()[-1]
    assert org_id.isdigit()
    key = run(["create-api-key", org_id], env).stdout.strip().splitlines()[-1]
    read_only = run(["create-api-key", org_id, "--read-only"], env).stdout.strip().splitlines()[-1]
    assert key.startswith("gqlt_") and len(key) >= 43 and key != read_only
    # The dev key file sits beside the database, readable by its owner only.
    key_file = tmp_path / "cli.sqlite3.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"

    log = tmp_path / "serve.log"
    with running_server(env, log) as server:
        assert httpx.get(f"{server.http}/readyz").status_code == 200
        query = {"query": "{ telephonyConfigs { totalCount } }"}
        answer = httpx.post(f"{server.http}/graphql", json=query, headers=bearer(key))
        assert answer.json() == {"data": {"telephonyConfigs": {"totalCount": 0}}}
        refused = httpx.post(f"{server.http}/graphql", json={"query": 'mutation { removePhoneNumber(input: {id: "x"}) { deletedPhoneNumberId } }'},
                             headers=bearer(read_only))
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        ide = httpx.get(f"{server.http}/graphql", headers={"accept": "text/html"})
        assert ide.status_code == 200 and "graphiql" in ide.text.lower()
    assert server.process.returncode == 0, log.read_text()
    assert key not in log.read_text()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_demo_on_empty_database_prints_one_key_once(tmp_path, stop_signal):
    env = cli_env(tmp_path)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    for log in logs:
        with running_server(env, log, extra_args=("--demo",), stop_signal=stop_signal) as server:
            pass
        assert server.process.returncode == 0, log.read_text()
    keys = [word for word in logs[0].read_text().split() if word.startswith("gqlt_")]
    assert keys, logs[0].read_text()
    assert "gqlt_" not in logs[1].read_text()


def test_postgresql_without_secret_keys_refuses_to_start(tmp_path):
    env = cli_env(tmp_path, GQL_TELEPHONY_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/none")
    for command in (["serve"], ["migrate"]):
        result = run(command, env, check=False)
        assert result.returncode != 0
        assert "GQL_TELEPHONY_SECRET_KEYS" in result.stderr


def test_bad_settings_and_arguments_are_clear_errors(tmp_path):
    env = cli_env(tmp_path, GQL_TELEPHONY_SECRET_KEYS="not-a-fernet-key")
    result = run(["migrate"], env, check=False)
    assert result.returncode == 2 and "Fernet" in result.stderr and "Traceback" not in result.stderr
    env = cli_env(tmp_path, GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode())
    result = run(["create-api-key", "999"], env, check=False)
    assert result.returncode == 2 and "no organization" in result.stderr
    result = run(["create-api-key", "abc"], env, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = run(["create-org", "   "], env, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize("variable,value", [("GQL_TELEPHONY_ENV", "staging"), ("GQL_TELEPHONY_DATABASE_URL", "mysql://x")])
def test_invalid_environment_is_refused(tmp_path, variable, value):
    result = run(["migrate"], cli_env(tmp_path, **{variable: value}), check=False)
    assert result.returncode == 2 and variable in result.stderr


async def test_rotate_secrets_command_moves_every_stored_secret_to_the_new_key(api, settings, tmp_path):
    plain = await seed(api, 10)
    before = await api.gql(CONFIGS)
    new = Fernet.generate_key().decode()
    env = cli_env(tmp_path, GQL_TELEPHONY_DATABASE_URL=settings.database_url,
                  GQL_TELEPHONY_SECRET_KEYS=",".join((new, *settings.secret_keys)))
    rotated = run(["rotate-secrets", "--batch-size", "4"], env).stdout.strip().splitlines()
    assert rotated[-1] == "done: 10 configurations examined, 10 re-encrypted under the newest key", rotated
    # Every stored secret is under the new key alone, and decrypts to what it was.
    tokens = await stored_tokens(api.runtime.db)
    assert {row_id: Vault((new,)).decrypt_json(token) for row_id, token in tokens.items()} == plain
    # A server holding only the new key answers as before, masked.
    async with app_client(settings, secret_keys=(new,)) as served:
        response = await served.client.post("/graphql", json={"query": CONFIGS}, headers=bearer(api.key))
    assert response.json() == {"data": before}
    assert not any(secret in response.text for values in plain.values() for secret in map(str, values.values())
                   if len(secret) >= 12)
    again = run(["rotate-secrets"], env).stdout.strip().splitlines()
    assert again[-1] == "done: 10 configurations examined, 0 re-encrypted under the newest key", again


def test_api_keys_are_created_with_a_label_listed_without_the_key_and_revoked(tmp_path):
    env = cli_env(tmp_path, GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode())
    org_id = run(["create-org", "Keys"], env).stdout.strip().splitlines()[-1]
    key = run(["create-api-key", org_id, "--label", "CI deploy"], env).stdout.strip().splitlines()[-1]
    reader = run(["create-api-key", org_id, "--read-only"], env).stdout.strip().splitlines()[-1]
    listed = run(["list-api-keys", org_id], env).stdout
    assert key not in listed and reader not in listed
    lines = [line.split("\t") for line in listed.strip().splitlines()]
    assert [line[1:3] + line[4:] for line in lines] == [["CI deploy", "read-write", "never"], ["-", "read-only", "never"]]
    key_id = lines[0][0]

    with running_server(env, tmp_path / "serve.log") as server:
        used = httpx.post(f"{server.http}/graphql", json={"query": "{ telephonyConfigs { totalCount } }"},
                          headers=bearer(key))
        assert used.status_code == 200
    # The server writes "last used" in the background, at the latest when it stops.
    first = run(["list-api-keys", org_id], env).stdout.strip().splitlines()[0].split("\t")
    assert first[0] == key_id and first[4] != "never" and first[4] >= first[3]

    revoked = run(["revoke-api-key", key_id], env).stdout
    assert "revoked" in revoked and key not in revoked
    assert "already revoked" in run(["revoke-api-key", key_id], env).stdout
    assert key_id not in [line.split("\t")[0] for line in run(["list-api-keys", org_id], env).stdout.strip().splitlines()]
    everything = run(["list-api-keys", org_id, "--all"], env).stdout.strip().splitlines()
    assert everything[0].split("\t")[0] == key_id and everything[0].split("\t")[5].startswith("revoked ")


BAD_KEY_ARGUMENTS = [
    (["revoke-api-key", "abc"], "KEY_ID"),
    (["revoke-api-key", "0"], "KEY_ID"),
    (["revoke-api-key", "99999999999"], "KEY_ID"),
    (["revoke-api-key", "٣"], "KEY_ID"),
    (["revoke-api-key", "4242"], "no API key has id 4242"),
    (["list-api-keys", "x1"], "ORG_ID"),
    (["list-api-keys", "4242"], "no organization has id 4242"),
    (["create-api-key", "1", "--label", "  "], "label"),
    (["create-api-key", "1", "--label", "x" * 65], "label"),
    (["create-api-key", "1", "--label", "two\nlines"], "label"),
    (["create-api-key", "99999999999"], "ORG_ID"),
]


def test_bad_key_arguments_are_clear_errors(tmp_path):
    env = cli_env(tmp_path, GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode())
    run(["create-org", "One"], env)
    for args, message in BAD_KEY_ARGUMENTS:
        result = run(args, env, check=False)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)


def test_help_describes_the_key_commands():
    result = run(["--help"], os.environ.copy())
    for command in ("create-api-key", "list-api-keys", "revoke-api-key"):
        assert command in result.stdout
    assert "--label" in run(["create-api-key", "--help"], os.environ.copy()).stdout


# Arguments are checked before any work: a clear message naming the argument, exit 2 --------

BAD_ARGUMENTS = [
    (["serve", "--port", "99999"], "--port"),
    (["serve", "--port", "0"], "--port"),
    (["serve", "--port", "80a"], "--port"),
    (["serve", "--host", "not a host"], "--host"),
    (["serve", "--host", "-bad-.example"], "--host"),
    (["rotate-secrets", "--batch-size", "0"], "--batch-size"),
    (["rotate-secrets", "--batch-size", "-5"], "--batch-size"),
    (["rotate-secrets", "--batch-size", "1e3"], "--batch-size"),
    (["create-org", "   "], "NAME"),
]


@pytest.mark.parametrize("args,named", BAD_ARGUMENTS)
def test_nonsense_arguments_are_refused_naming_the_argument(tmp_path, args, named):
    result = run(args, cli_env(tmp_path), check=False)
    assert result.returncode == 2, result
    assert f"argument {named}" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "cli.sqlite3").exists()  # refused before the database was touched


SUBCOMMANDS = ["serve", "migrate", "create-org", "create-api-key", "list-api-keys", "revoke-api-key",
               "rotate-secrets", "export-schema"]


def test_top_level_help_lists_every_command_with_a_summary():
    lines = run(["--help"], os.environ.copy()).stdout.splitlines()
    for command in SUBCOMMANDS:
        # The name, then its summary on the same line or the next (argparse wraps long names).
        at = next(i for i, line in enumerate(lines) if line.strip().split(" ")[0] == command)
        summary = lines[at].strip()[len(command):].strip() or lines[at + 1].strip()
        assert len(summary) > 10, (command, summary)


@pytest.mark.parametrize("command,defaults", [
    ("serve", ["(default: 127.0.0.1)", "(default: 8000)"]),
    ("rotate-secrets", ["(default: 200)"]),
])
def test_subcommand_help_shows_the_defaults(command, defaults):
    text = " ".join(run([command, "--help"], os.environ.copy()).stdout.split())  # unwrapped
    for default in defaults:
        assert default in text


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_a_description(command):
    lines = run([command, "--help"], os.environ.copy()).stdout.split("\n\n")
    assert len(lines) >= 2 and not lines[1].lstrip().startswith(("options:", "positional")), lines
