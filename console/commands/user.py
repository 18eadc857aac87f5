"""``promoflow user add|passwd|roles|list|token|tokens|deactivate|reactivate``: console
accounts and API tokens, from the terminal."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from promoflow.console.commands._context import console, runtime
from promoflow.engine.bootstrap import Runtime
from promoflow.engine.users import accounts as users
from promoflow.errors import InputError


def _local(at: datetime | None, rt: Runtime) -> str:
    return "-" if at is None else at.astimezone(rt.tz).strftime("%Y-%m-%d %H:%M")


def register(app: typer.Typer) -> None:
    """Add the ``user`` command group."""
    group = typer.Typer(help="Console users, roles and API tokens.", no_args_is_help=True)

    @group.command("add")
    def add(
        ctx: typer.Context,
        username: str = typer.Argument(..., help="Login name."),
        role: list[str] = typer.Option(
            [], "--role", "-r", help=f"Role (repeatable): {', '.join(users.ROLES)}."
        ),
        name: str | None = typer.Option(None, "--name", help="Display name."),
        language: str = typer.Option("zh", "--language", help="UI language: zh or en."),
        password: str = typer.Option(
            ..., prompt=True, confirmation_prompt=True, hide_input=True, help="Password."
        ),
    ) -> None:
        """Create a user (password asked for when not given)."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            users.add_user(
                session, username, password, role or ["viewer"], rt.now(), rt.actor, name, language
            )
        console.print(f"user {username} added")

    @group.command("passwd")
    def passwd(
        ctx: typer.Context,
        username: str = typer.Argument(...),
        password: str = typer.Option(
            ..., prompt=True, confirmation_prompt=True, hide_input=True, help="New password."
        ),
        keep_tokens: bool = typer.Option(
            False, "--keep-tokens", help="Leave the user's API tokens working."
        ),
    ) -> None:
        """Set a user's password (ends their login sessions and revokes their API tokens)."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            revoked = users.set_password(
                session, username, password, rt.now(), rt.actor, keep_tokens=keep_tokens
            )
        tokens = "API tokens kept" if keep_tokens else f"{revoked} API token(s) revoked"
        console.print(f"password of {username} changed; sessions ended, {tokens}")

    @group.command("roles")
    def roles(
        ctx: typer.Context,
        username: str = typer.Argument(...),
        role: list[str] = typer.Argument(..., help=f"The new roles: {', '.join(users.ROLES)}."),
    ) -> None:
        """Replace a user's roles."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            now_roles = users.set_roles(session, username, role, rt.now(), rt.actor)
        console.print(f"{username}: {', '.join(sorted(now_roles))}")

    @group.command("list")
    def list_(ctx: typer.Context) -> None:
        """List users and their roles."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            for u in users.list_users(session):
                state = "" if u["active"] else " (inactive)"
                console.print(
                    f"{u['username']}\t{','.join(u['roles'])}\t{u['language']}{state}",
                    highlight=False,
                    markup=False,
                )

    @group.command("token")
    def token(
        ctx: typer.Context,
        username: str = typer.Argument(..., metavar="NAME | revoke"),
        target: str | None = typer.Argument(
            None, metavar="[ID|TOKEN_NAME]", help="With revoke: the token's id, or its name."
        ),
        name: str = typer.Option("api", "--name", help="What the token is for."),
        days: int | None = typer.Option(
            None,
            "--days",
            min=1,
            help="Days the token stays valid (default PROMOFLOW_TOKEN_DAYS, else 90).",
        ),
        user: str | None = typer.Option(
            None, "--user", help="With revoke by name: whose token it is."
        ),
    ) -> None:
        """Issue an API token (printed once; keep it secret): ``user token NAME``.
        Revoke one: ``user token revoke ID`` or ``user token revoke TOKEN_NAME --user NAME``."""
        rt = runtime(ctx)
        if username == "revoke":
            if target is None:
                raise InputError("say which token to revoke: its id, or its name with --user")
            with rt.unit_of_work() as session:
                ids = users.revoke_tokens(session, target, rt.now(), rt.actor, username=user)
            console.print(f"revoked token(s) {', '.join(f'#{i}' for i in ids)}", highlight=False)
            return
        if target is not None:
            raise InputError(f"unexpected argument {target!r}: user token NAME [--name WHAT]")
        with rt.unit_of_work() as session:
            plain = users.create_token(
                session, username, name, rt.now(), rt.actor, days=days or rt.settings.token_days
            )
        typer.echo(plain)

    @group.command("tokens")
    def tokens(
        ctx: typer.Context,
        username: str = typer.Argument(...),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    ) -> None:
        """List a user's API tokens: id, name, created, expires, last use, revoked."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            rows = users.list_tokens(session, username, rt.settings.token_days)
        now = rt.now()
        if as_json:
            for row in rows:
                plain = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
                typer.echo(json.dumps(plain, ensure_ascii=False))
            return
        typer.echo("id\tname\tcreated\texpires\tlast used\tstate")
        for row in rows:
            if row["revoked"]:
                state = f"revoked {_local(row['revoked_at'], rt)}"
            elif row["expires_at"] <= now:
                state = "expired"
            else:
                state = "live"
            typer.echo(
                f"{row['id']}\t{row['name']}\t{_local(row['created_at'], rt)}\t"
                f"{_local(row['expires_at'], rt)}\t{_local(row['last_used_at'], rt)}\t{state}"
            )

    @group.command("deactivate")
    def deactivate(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
        """Stop a user: sign-in refused, login sessions ended, API tokens revoked."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            ended = users.set_active(session, username, False, rt.now(), rt.actor)
        console.print(
            f"user {username} deactivated: {ended['sessions_ended']} session(s) ended, "
            f"{ended['tokens_revoked']} API token(s) revoked",
            highlight=False,
        )

    @group.command("reactivate")
    def reactivate(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
        """Let a deactivated user sign in again (revoked tokens stay revoked)."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            users.set_active(session, username, True, rt.now(), rt.actor)
        console.print(f"user {username} reactivated", highlight=False)

    app.add_typer(group, name="user")
