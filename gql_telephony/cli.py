"""The command line: serve, migrate, create-org, API keys (create, list, revoke), rotate-secrets, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any

from .logs import configure_logging
from .settings import Settings, SettingsError


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


async def _migrate(settings: Settings) -> None:
    from .storage.db import Database  # noqa: PLC0415 - a command loads only what it runs
    from .storage.migrate import upgrade_to_head  # noqa: PLC0415 - a command loads only what it runs

    db = Database(settings)
    try:
        await upgrade_to_head(db)
    finally:
        await db.dispose()


async def _with_db(settings: Settings, action: Any) -> Any:
    from .storage.db import Database  # noqa: PLC0415 - a command loads only what it runs

    await _migrate(settings)
    db = Database(settings)
    try:
        return await action(db)
    finally:
        await db.dispose()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from .app import create_app  # noqa: PLC0415 - a command loads only what it runs
    from .services.tenancy import create_demo_if_empty  # noqa: PLC0415 - a command loads only what it runs

    async def nothing(_db: Any) -> None:
        return None

    key = _run(_with_db(settings, create_demo_if_empty if args.demo else nothing))
    if key:
        print("Created a demo organization. Its API key, shown only this once:")
        print(f"  {key}")
        print(f"Open http://{args.host}:{args.port}/graphql and set the request header")
        print(f'  {{"Authorization": "Bearer {key}"}}', flush=True)
    from .server import serve  # noqa: PLC0415 - a command loads only what it runs

    serve(create_app(settings), settings, args.host, args.port)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    _run(_migrate(settings))
    print("database schema is up to date")
    return 0


def cmd_create_org(settings: Settings, args: argparse.Namespace) -> int:
    from .services.tenancy import create_organization  # noqa: PLC0415 - a command loads only what it runs

    try:
        org_id = _run(_with_db(settings, lambda db: create_organization(db, args.name)))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(org_id)
    return 0


# Ids are 32-bit integers in the database: a larger number names no row (and must not reach the driver).
MAX_ID = 2**31 - 1
ORG_ID_HINT = "ORG_ID is the number that create-org printed"


class BadInput(Exception):
    """An argument the command cannot use, or a row it names that does not exist: exit 2."""


def _row_id(text: str, hint: str) -> int:
    """An id given on the command line (ASCII digits, in range)."""
    if text.isascii() and text.isdigit() and len(text) <= 10 and 1 <= int(text) <= MAX_ID:
        return int(text)
    raise BadInput(hint)


def _with_db_or_refuse(settings: Settings, action: Any) -> Any:
    """_with_db, with a refusal of the input (unknown id, bad label) as BadInput."""
    try:
        return _run(_with_db(settings, action))
    except (LookupError, ValueError) as error:
        raise BadInput(str(error)) from None


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "never"


def cmd_create_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from .services.tenancy import clean_label, create_api_key  # noqa: PLC0415 - a command loads only what it runs

    org_id = _row_id(args.org_id, ORG_ID_HINT)
    try:
        label = clean_label(args.label)
    except ValueError as error:
        raise BadInput(str(error)) from None
    print(_with_db_or_refuse(settings, lambda db: create_api_key(db, org_id, read_only=args.read_only, label=label)))
    return 0


def cmd_list_api_keys(settings: Settings, args: argparse.Namespace) -> int:
    from .services.tenancy import list_api_keys  # noqa: PLC0415 - a command loads only what it runs

    org_id = _row_id(args.org_id, ORG_ID_HINT)
    for key in _with_db_or_refuse(settings, lambda db: list_api_keys(db, org_id, include_revoked=args.all)):
        fields = [str(key.id), key.label or "-", "read-only" if key.read_only else "read-write",
                  _when(key.created_at), _when(key.last_used_at)]
        if key.revoked_at is not None:
            fields.append(f"revoked {_when(key.revoked_at)}")
        print("\t".join(fields))
    return 0


def cmd_revoke_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from .services.tenancy import revoke_api_key  # noqa: PLC0415 - a command loads only what it runs

    key_id = _row_id(args.key_id, "KEY_ID is the number in the first column of list-api-keys")
    revocation = _with_db_or_refuse(settings, lambda db: revoke_api_key(db, key_id))
    named = f"API key {revocation.key_id}" + (f" ({revocation.label})" if revocation.label else "")
    if revocation.already:
        print(f"{named} was already revoked at {_when(revocation.revoked_at)}")
    else:
        print(f"revoked {named}: refused from now on; its open WebSockets close within 5 seconds")
    return 0


def cmd_rotate_secrets(settings: Settings, args: argparse.Namespace) -> int:
    from .crypto import vault_from_settings  # noqa: PLC0415 - a command loads only what it runs
    from .services.rotation import rotate_secrets  # noqa: PLC0415 - a command loads only what it runs

    vault = vault_from_settings(settings)

    def progress(report: Any) -> None:
        print(f"examined {report.examined}, re-encrypted {report.rotated}", flush=True)

    report = _run(
        _with_db(settings, lambda db: rotate_secrets(db, vault, batch_size=args.batch_size, progress=progress))
    )
    print(f"done: {report.examined} configurations examined, {report.rotated} re-encrypted under the newest key")
    return 0


def cmd_export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from .api.graph.schema import build_schema  # noqa: PLC0415 - a command loads only what it runs

    print(build_schema().as_str())
    return 0


def _command(commands: Any, name: str, handler: Any, summary: str, description: str | None = None) -> Any:
    command = commands.add_parser(name, help=summary, description=description or summary)
    command.set_defaults(handler=handler)
    return command


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="gql-telephony", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate the database, then serve until SIGINT/SIGTERM")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--demo", action="store_true", help="on an empty database, create a demo organization and print its key"
    )
    serve.set_defaults(handler=cmd_serve)
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(handler=cmd_migrate)
    org = commands.add_parser("create-org", help="create an organization and print its id")
    org.add_argument("name")
    org.set_defaults(handler=cmd_create_org)
    key = _command(commands, "create-api-key", cmd_create_api_key,
                   "create an API key and print it on the last line (shown only once)")
    key.add_argument("org_id", metavar="ORG_ID")
    key.add_argument("--read-only", action="store_true", help="the key may query and subscribe, not mutate")
    key.add_argument("--label", metavar="TEXT", help="what the key is for (1 to 64 characters), shown by list-api-keys")
    keys = _command(commands, "list-api-keys", cmd_list_api_keys,
                    "list an organization's keys, one per line: id, label, read-only, created, last used",
                    "One key per line, tab-separated: id, label (- if none), read-only or read-write, created, "
                    "last used (UTC, or never). Never the key itself: it is shown only when created.")
    keys.add_argument("org_id", metavar="ORG_ID")
    keys.add_argument("--all", action="store_true", help="revoked keys too, with a sixth field: revoked WHEN")
    revoke = _command(commands, "revoke-api-key", cmd_revoke_api_key,
                      "revoke an API key by the id list-api-keys prints",
                      "Requests with the key are refused at once; its open WebSockets are closed with 4403 within "
                      "5 seconds on every server process. The key stays listed with --all.")
    revoke.add_argument("key_id", metavar="KEY_ID")
    rotate = commands.add_parser(
        "rotate-secrets", help="re-encrypt every stored credential under the first key of GQL_TELEPHONY_SECRET_KEYS"
    )
    rotate.add_argument("--batch-size", type=int, default=200)
    rotate.set_defaults(handler=cmd_rotate_secrets)
    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(handler=cmd_export_schema)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(logging.INFO)
    try:
        settings = Settings.from_env()
        if args.command != "export-schema":
            from .crypto import vault_from_settings  # noqa: PLC0415 - a command loads only what it runs

            vault_from_settings(settings)  # no secret keys on PostgreSQL: refuse before any work
        return int(args.handler(settings, args))
    except (SettingsError, BadInput) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
