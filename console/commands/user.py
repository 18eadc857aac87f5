"""``promoflow user add|passwd|roles|list|token``: console accounts, from the terminal."""

from __future__ import annotations

import typer

from promoflow.console.commands._context import console, runtime
from promoflow.engine.users import accounts as users


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
    ) -> None:
        """Set a user's password (ends their login sessions)."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            users.set_password(session, username, password, rt.now(), rt.actor)
        console.print(f"password of {username} changed")

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
        username: str = typer.Argument(...),
        name: str = typer.Option("api", "--name", help="What the token is for."),
    ) -> None:
        """Issue an API token (printed once; keep it secret)."""
        rt = runtime(ctx)
        with rt.unit_of_work() as session:
            plain = users.create_token(session, username, name, rt.now(), rt.actor)
        typer.echo(plain)

    app.add_typer(group, name="user")
