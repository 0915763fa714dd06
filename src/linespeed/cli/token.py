"""`linespeed token create | list | revoke`: API tokens and their roles."""

from __future__ import annotations

from typing import Annotated

import typer

from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    out,
    plant_zone,
    print_json,
    store,
    time_text,
)

token_app = typer.Typer(
    help="API bearer tokens: `token create --role ROLE`, `token list`, `token revoke ID`.",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option("--role", help="viewer, operator, engineer or admin.")],
    station: Annotated[
        list[str] | None,
        typer.Option("--station", help="Operator only: limit posts to this station (repeat)."),
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Who or what uses it.")] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Stop working after this long: 90d, 12h, 30m or 2w."),
    ] = None,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create an API token; its secret is shown this once (only a hash is stored).

    Example: linespeed token create --role operator --station ga-090 --json
    """
    from linespeed.access.tokens import create_token, parse_lifetime

    lifetime = None if expires is None else parse_lifetime(expires)
    with store(db, plant) as engine:
        created = create_token(
            engine, role, stations=station or (), label=label, expires_in=lifetime
        )
        zone = plant_zone(engine)
    if json_output:
        print_json(created)
        return
    limit = f" for stations {', '.join(created.stations)}" if created.stations else ""
    until = "" if created.expires_at is None else f", until {time_text(created.expires_at, zone)}"
    out.print(f"token {created.id} ({created.role}{limit}{until}); keep it, it is not shown again:")
    out.print(created.token)


@token_app.command("list")
def token_list(
    show_all: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List API tokens (never their secrets): id, role, stations, created, expires, last
    used, revoked.

    Example: linespeed token list --all --json
    """
    from rich.table import Table

    from linespeed.access.tokens import list_tokens

    with store(db, plant) as engine:
        tokens = list_tokens(engine, include_revoked=show_all)
        zone = plant_zone(engine)
    if json_output:
        print_json(tokens)
        return
    table = Table(
        "id",
        "role",
        "stations",
        "label",
        "created",
        "expires",
        "last used",
        "revoked",
        title="API tokens",
    )
    for token in tokens:
        table.add_row(
            str(token.id),
            token.role,
            ", ".join(token.stations) if token.stations else "all",
            token.label or "",
            time_text(token.created_at, zone),
            time_text(token.expires_at, zone),
            time_text(token.last_used_at, zone),
            time_text(token.revoked_at, zone),
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (from `token list`).")],
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Revoke an API token: it answers 401 from now on.

    Example: linespeed token revoke 3
    """
    from linespeed.access.tokens import revoke_token

    with store(db, plant) as engine:
        token = revoke_token(engine, token_id)
        zone = plant_zone(engine)
    if json_output:
        print_json(token)
        return
    revoked_at = time_text(token.revoked_at, zone)
    out.print(f"token {token.id} ({token.role}) revoked at {revoked_at}")
