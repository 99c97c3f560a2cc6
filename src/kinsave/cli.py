"""The `kinsave` command. Each command opens its own unit of work and calls services; no SQL."""

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from kinsave.config import get_settings
from kinsave.db import make_engine, make_session_factory, unit_of_work

app = typer.Typer(help="kinsave: red envelopes, coupons and shares for shops in messaging hosts.")
operator_app = typer.Typer(help="Operator API keys.")
store_key_app = typer.Typer(help="Store API keys (server-to-server checkout).")
app.add_typer(operator_app, name="operator")
app.add_typer(store_key_app, name="store-key")
console = Console()


def _session_factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(get_settings()))


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from kinsave.migrate import upgrade_to_head

    upgrade_to_head(get_settings())
    console.print("[green]schema up to date[/green]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="API processes")] = 1,
    no_migrate: Annotated[bool, typer.Option(help="Skip the schema upgrade")] = False,
) -> None:
    """Serve the API (and the sweeper that refunds expired envelopes)."""
    import uvicorn

    if not no_migrate:
        migrate()
    uvicorn.run(
        "kinsave.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    seed_only: Annotated[bool, typer.Option(help="Seed and exit without serving")] = False,
) -> None:
    """Seed a demo shop, campaign and family, then serve with dev login on."""
    import os

    from kinsave import demo as demo_data

    os.environ.setdefault("KINSAVE_DEV_LOGIN", "1")
    os.environ.setdefault("KINSAVE_DEMO_STORE", "1")
    get_settings.cache_clear()
    migrate()
    with unit_of_work(_session_factory()) as session:
        seeded = demo_data.seed(session, get_settings())
    base = f"http://{host}:{port}"
    console.print(demo_data.describe(seeded, base))
    if not seed_only:
        serve(host=host, port=port, workers=1, no_migrate=True)


@app.command()
def reconcile() -> None:
    """Recompute every balance from the transfers; exit 1 on any difference."""
    from kinsave.envelopes import service as envelopes
    from kinsave.ledger import service as ledger
    from kinsave.social import help_requests

    with unit_of_work(_session_factory()) as session:
        report = ledger.reconcile(session)
        report.domain_problems = envelopes.escrow_problems(session) + help_requests.escrow_problems(
            session
        )
    table = Table(title="kinsave reconcile")
    table.add_column("check")
    table.add_column("result", justify="right")
    table.add_row("accounts", str(report.accounts))
    table.add_row("transfers", str(report.transfers))
    table.add_row("money moved (minor units)", str(report.total_moved))
    table.add_row("sum of all balances", str(report.sum_of_balances))
    table.add_row("balances differing from transfers", str(len(report.mismatches)))
    table.add_row("accounts below zero", str(len(report.negative_accounts)))
    table.add_row("escrow problems (envelopes, help)", str(len(report.domain_problems)))
    console.print(table)
    for mismatch in report.mismatches:
        console.print(f"[red]mismatch[/red] {mismatch.model_dump()}")
    for problem in report.domain_problems:
        console.print(f"[red]problem[/red] {problem}")
    if not report.clean:
        console.print("[red bold]NOT CLEAN[/red bold]")
        raise typer.Exit(1)
    console.print("[green bold]clean[/green bold]")


@app.command()
def expire() -> None:
    """Settle everything that is due now: refund expired envelopes and help requests, pay
    referral rewards whose hold ended (the server's sweeper does the same periodically)."""
    from kinsave.jobs import expire_envelopes, expire_help_requests, release_referral_rewards

    factory = _session_factory()
    report = expire_envelopes(factory)
    console.print(f"expired {report.expired} envelopes, refunded {report.refunded_amount}")
    helps = expire_help_requests(factory)
    console.print(f"expired {helps.expired} help requests, refunded {helps.refunded_amount}")
    released = release_referral_rewards(factory)
    console.print(f"paid {released.released} referral rewards, {released.paid_amount} in total")


@app.command("deliver-webhooks")
def deliver_webhooks() -> None:
    """Send due webhook deliveries now, with retries per the backoff (the sweeper does it too)."""
    from kinsave.jobs import deliver_webhooks as deliver

    report = deliver(_session_factory(), get_settings())
    console.print(
        f"sent {report.sent}: delivered {report.delivered}, "
        f"retrying {report.retrying}, failed {report.failed}"
    )


def _create_key(shop: str, role: str, access: str = "full") -> None:
    from kinsave.auth import service as auth

    with unit_of_work(_session_factory()) as session:
        shop_row = auth.ensure_shop(session, shop)
        key = auth.create_api_key(session, shop_row.id, role, access)
    console.print(f"{role} key for shop {shop!r} ({shop_row.id}):")
    typer.echo(key)


@operator_app.command("create")
def operator_create(
    shop: Annotated[str, typer.Option(help="Shop name")],
    read_only: Annotated[bool, typer.Option(help="A console key that may only read")] = False,
) -> None:
    """Create the shop if needed and print a new operator API key."""
    _create_key(shop, "operator", "read" if read_only else "full")


@operator_app.command("rotate")
def operator_rotate(
    shop: Annotated[str, typer.Option(help="Shop name")],
    read_only: Annotated[bool, typer.Option(help="The new key may only read")] = False,
) -> None:
    """Revoke every operator key of the shop and print one new key (after a leak)."""
    from kinsave.auth import service as auth
    from kinsave.security import audit

    with unit_of_work(_session_factory()) as session:
        shop_row = auth.ensure_shop(session, shop)
        revoked = auth.revoke_shop_keys(session, shop_row.id, "operator")
        key = auth.create_api_key(session, shop_row.id, "operator", "read" if read_only else "full")
        audit.record(
            session,
            shop_id=shop_row.id,
            actor="cli",
            action="operator keys rotated",
            target="{}",
            details=f"revoked {revoked} operator keys; issued {key[:10]}",
        )
    console.print(f"revoked {revoked} operator keys of {shop!r}; the new key:")
    typer.echo(key)


@app.command("revoke-sessions")
def revoke_sessions(shopper: Annotated[str, typer.Argument(help="Shopper id")]) -> None:
    """Sign a shopper out everywhere (a lost phone, a stolen token)."""
    from kinsave.auth import service as auth

    with unit_of_work(_session_factory()) as session:
        revoked = auth.revoke_shopper_sessions(session, shopper)
    console.print(f"revoked {revoked} sessions of {shopper!r}")


@store_key_app.command("create")
def store_key_create(shop: Annotated[str, typer.Option(help="Shop name")]) -> None:
    """Create the shop if needed and print a new store API key."""
    _create_key(shop, "store")


if __name__ == "__main__":
    app()
