"""The command line: serve, migrate, create-org, API keys (create, list, revoke), rotate-secrets, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any

from .cli_arguments import MAX_BATCH_SIZE, DefaultsHelp, batch_size, host, organization_name, port, row_id
from .logs import configure_logging
from .settings import Settings, SettingsError
from .storage.provision import DatabaseProblem


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


async def _migrate(settings: Settings, create_database: bool = False) -> None:
    """Bring the schema up to date; a missing PostgreSQL database is created when asked, else a
    DatabaseProblem that says how to create it."""
    from .storage import provision  # noqa: PLC0415 - a command loads only what it runs
    from .storage.db import Database  # noqa: PLC0415 - a command loads only what it runs
    from .storage.migrate import upgrade_to_head  # noqa: PLC0415 - a command loads only what it runs

    if create_database and not settings.is_sqlite and await provision.create_database_if_missing(settings.database_url):
        target = provision.Target.from_url(settings.database_url)
        print(f"created database {target.database!r} on {target.where}", flush=True)
    db = Database(settings)
    try:
        await upgrade_to_head(db)
    except Exception as error:
        if settings.is_sqlite or not provision.is_missing_database(error):
            raise
        raise await provision.missing_database_problem(settings.database_url) from None
    finally:
        await db.dispose()


async def _with_db(settings: Settings, action: Any, create_database: bool = False) -> Any:
    from .storage.db import Database  # noqa: PLC0415 - a command loads only what it runs

    await _migrate(settings, create_database)
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

    key = _run(_with_db(settings, create_demo_if_empty if args.demo else nothing, args.create_database))
    if key:
        print("Created a demo organization. Its API key, shown only this once:")
        print(f"  {key}")
        address = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 address in a URL
        print(f"Open http://{address}:{args.port}/graphql and set the request header")
        print(f'  {{"Authorization": "Bearer {key}"}}', flush=True)
    from .server import serve  # noqa: PLC0415 - a command loads only what it runs

    serve(create_app(settings), settings, args.host, args.port)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    _run(_migrate(settings, args.create_database))
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


ORG_ID_HINT = "ORG_ID is the number that create-org printed"
KEY_ID_HINT = "KEY_ID is the number in the first column of list-api-keys"


class BadInput(Exception):
    """A row the command names that does not exist, or input the database refuses: exit 2."""


def _with_db_or_refuse(settings: Settings, action: Any) -> Any:
    """_with_db, with a refusal of the input (unknown id, bad label) as BadInput."""
    try:
        return _run(_with_db(settings, action))
    except (LookupError, ValueError) as error:
        raise BadInput(str(error)) from None


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "never"


def cmd_create_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from .services.tenancy import create_api_key  # noqa: PLC0415 - a command loads only what it runs

    print(_with_db_or_refuse(settings, lambda db: create_api_key(db, args.org_id, read_only=args.read_only,
                                                                 label=args.label)))
    return 0


def cmd_list_api_keys(settings: Settings, args: argparse.Namespace) -> int:
    from .services.tenancy import list_api_keys  # noqa: PLC0415 - a command loads only what it runs

    for key in _with_db_or_refuse(settings, lambda db: list_api_keys(db, args.org_id, include_revoked=args.all)):
        fields = [str(key.id), key.label or "-", "read-only" if key.read_only else "read-write",
                  _when(key.created_at), _when(key.last_used_at)]
        if key.revoked_at is not None:
            fields.append(f"revoked {_when(key.revoked_at)}")
        print("\t".join(fields))
    return 0


def cmd_revoke_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from .services.tenancy import revoke_api_key  # noqa: PLC0415 - a command loads only what it runs

    revocation = _with_db_or_refuse(settings, lambda db: revoke_api_key(db, args.key_id))
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


def _label(text: str) -> str | None:
    from .services.tenancy import clean_label  # noqa: PLC0415 - a command loads only what it runs

    try:
        return clean_label(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _command(commands: Any, name: str, handler: Any, summary: str, description: str | None = None) -> Any:
    """A subcommand: `summary` is its line in the top-level help, `description` heads its own."""
    command = commands.add_parser(name, help=summary, description=description or summary[0].upper() + summary[1:] + ".",
                                  formatter_class=DefaultsHelp)
    command.set_defaults(handler=handler)
    return command


def _create_database_option(command: Any) -> None:
    command.add_argument(
        "--create-database", action="store_true",
        help="on PostgreSQL, create the database named in GQL_TELEPHONY_DATABASE_URL if it does not exist "
             "(the role needs the CREATEDB privilege); without it, a missing database is an error saying what to do",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="gql-telephony", description=__doc__,
        epilog="Settings come from GQL_TELEPHONY_* environment variables (README, Configuration). "
               "`gql-telephony COMMAND --help` describes a command and its defaults.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = _command(commands, "serve", cmd_serve, "migrate the database, then serve until SIGINT/SIGTERM",
                     "Bring the database schema up to date, then serve HTTP and WebSocket on HOST:PORT until "
                     "SIGINT or SIGTERM (exit 0).")
    serve.add_argument("--host", type=host, default="127.0.0.1",
                       help="address to listen on: 0.0.0.0 for every IPv4 interface, :: for every IPv6 one")
    serve.add_argument("--port", type=port, default=8000, help="TCP port to listen on (1 to 65535)")
    serve.add_argument(
        "--demo", action="store_true", help="on an empty database, create a demo organization and print its key"
    )
    _create_database_option(serve)
    migrate = _command(commands, "migrate", cmd_migrate, "bring the database schema up to date and exit",
                       "Apply every migration not yet applied to the database of GQL_TELEPHONY_DATABASE_URL, "
                       "then exit. Safe to run while servers run, and from several places at once.")
    _create_database_option(migrate)
    org = _command(commands, "create-org", cmd_create_org, "create an organization and print its id")
    org.add_argument("name", metavar="NAME", type=organization_name,
                     help="the organization's name (1 to 200 characters)")
    key = _command(commands, "create-api-key", cmd_create_api_key,
                   "create an API key and print it on the last line (shown only once)",
                   "Create an API key for an organization and print it on the last line. It is shown only "
                   "this once: only its hash is stored.")
    key.add_argument("org_id", metavar="ORG_ID", type=row_id(ORG_ID_HINT), help=ORG_ID_HINT)
    key.add_argument("--read-only", action="store_true", help="the key may query and subscribe, not mutate")
    key.add_argument("--label", metavar="TEXT", type=_label,
                     help="what the key is for (1 to 64 characters, one line), shown by list-api-keys")
    keys = _command(commands, "list-api-keys", cmd_list_api_keys,
                    "list an organization's keys, one per line: id, label, read-only, created, last used",
                    "One key per line, tab-separated: id, label (- if none), read-only or read-write, created, "
                    "last used (UTC, or never). Never the key itself: it is shown only when created.")
    keys.add_argument("org_id", metavar="ORG_ID", type=row_id(ORG_ID_HINT), help=ORG_ID_HINT)
    keys.add_argument("--all", action="store_true", help="revoked keys too, with a sixth field: revoked WHEN")
    revoke = _command(commands, "revoke-api-key", cmd_revoke_api_key,
                      "revoke an API key by the id list-api-keys prints",
                      "Requests with the key are refused at once; its open WebSockets are closed with 4403 within "
                      "5 seconds on every server process. The key stays listed with --all.")
    revoke.add_argument("key_id", metavar="KEY_ID", type=row_id(KEY_ID_HINT), help=KEY_ID_HINT)
    rotate = _command(commands, "rotate-secrets", cmd_rotate_secrets,
                      "re-encrypt every stored credential under the first key of GQL_TELEPHONY_SECRET_KEYS",
                      "Re-encrypt every stored credential under the first key of GQL_TELEPHONY_SECRET_KEYS, in "
                      "short transactions while servers keep serving. Interrupted, it continues where it stopped "
                      "when run again.")
    rotate.add_argument("--batch-size", type=batch_size, default=200, metavar="N",
                        help=f"configurations re-encrypted per transaction (1 to {MAX_BATCH_SIZE})")
    _command(commands, "export-schema", cmd_export_schema, "print the GraphQL schema (SDL) on standard output")
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
    except DatabaseProblem as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
