"""The command line: serve, migrate, create-org, create-api-key, export-schema."""

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
    from .storage.db import Database  # noqa: PLC0415
    from .storage.migrate import upgrade_to_head  # noqa: PLC0415

    db = Database(settings)
    try:
        await upgrade_to_head(db)
    finally:
        await db.dispose()


async def _with_db(settings: Settings, action: Any) -> Any:
    from .storage.db import Database  # noqa: PLC0415

    await _migrate(settings)
    db = Database(settings)
    try:
        return await action(db)
    finally:
        await db.dispose()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from .app import create_app  # noqa: PLC0415
    from .services.tenancy import create_demo_if_empty  # noqa: PLC0415

    async def nothing(_db: Any) -> None:
        return None

    key = _run(_with_db(settings, create_demo_if_empty if args.demo else nothing))
    if key:
        print("Created a demo organization. Its API key, shown only this once:")
        print(f"  {key}")
        print(f"Open http://{args.host}:{args.port}/graphql and set the request header")
        print(f'  {{"Authorization": "Bearer {key}"}}', flush=True)
    from .server import serve  # noqa: PLC0415

    serve(create_app(settings), settings, args.host, args.port)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    _run(_migrate(settings))
    print("database schema is up to date")
    return 0


def cmd_create_org(settings: Settings, args: argparse.Namespace) -> int:
    from .services.tenancy import create_organization  # noqa: PLC0415

    try:
        org_id = _run(_with_db(settings, lambda db: create_organization(db, args.name)))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(org_id)
    return 0


def cmd_create_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from .services.tenancy import create_api_key  # noqa: PLC0415

    if not args.org_id.isdigit():
        print("error: ORG_ID is the number that create-org printed", file=sys.stderr)
        return 2
    try:
        key = _run(_with_db(settings, lambda db: create_api_key(db, int(args.org_id), read_only=args.read_only)))
    except LookupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(key)
    return 0


def cmd_rotate_secrets(settings: Settings, args: argparse.Namespace) -> int:
    from .crypto import vault_from_settings  # noqa: PLC0415
    from .services.rotation import rotate_secrets  # noqa: PLC0415

    vault = vault_from_settings(settings)

    def progress(report: Any) -> None:
        print(f"examined {report.examined}, re-encrypted {report.rotated}", flush=True)

    report = _run(_with_db(settings, lambda db: rotate_secrets(db, vault, batch_size=args.batch_size, progress=progress)))
    print(f"done: {report.examined} configurations examined, {report.rotated} re-encrypted under the newest key")
    return 0


def cmd_export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from .api.schema import build_schema  # noqa: PLC0415

    print(build_schema().as_str())
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="gql-telephony", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate the database, then serve until SIGINT/SIGTERM")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="on an empty database, create a demo organization and print its key")
    serve.set_defaults(handler=cmd_serve)
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(handler=cmd_migrate)
    org = commands.add_parser("create-org", help="create an organization and print its id")
    org.add_argument("name")
    org.set_defaults(handler=cmd_create_org)
    key = commands.add_parser("create-api-key", help="create an API key and print it (shown only once)")
    key.add_argument("org_id", metavar="ORG_ID")
    key.add_argument("--read-only", action="store_true", help="the key may query and subscribe, not mutate")
    key.set_defaults(handler=cmd_create_api_key)
    rotate = commands.add_parser("rotate-secrets", help="re-encrypt every stored credential under the first key of GQL_TELEPHONY_SECRET_KEYS")
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
            from .crypto import vault_from_settings  # noqa: PLC0415

            vault_from_settings(settings)  # no secret keys on PostgreSQL: refuse before any work
        return int(args.handler(settings, args))
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
