"""The `kinsave` command. Each command opens its own unit of work and calls services; no SQL."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from kinsave.bench.cli import bench_app
from kinsave.config import get_settings
from kinsave.db import make_engine, make_session_factory, unit_of_work
from kinsave.telegram.cli import telegram_app

app = typer.Typer(help="kinsave: red envelopes, coupons and shares for shops in messaging hosts.")
operator_app = typer.Typer(help="Operator API keys.")
store_key_app = typer.Typer(help="Store API keys (server-to-server checkout).")
app.add_typer(operator_app, name="operator")
app.add_typer(store_key_app, name="store-key")
app.add_typer(bench_app, name="bench")
app.add_typer(telegram_app, name="telegram")
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
def check(
    workers: Annotated[int, typer.Option(help="API processes you will serve with")] = 1,
) -> None:
    """Say what in the settings is unsafe for production, and why; exit 1 if anything is."""
    from kinsave.ops.production_check import unsafe_settings

    findings = unsafe_settings(get_settings(), workers)
    for finding in findings:
        console.print(f"[red]unsafe[/red] {finding.setting}: {finding.why}")
    if findings:
        console.print(f"{len(findings)} unsafe setting(s) for production")
        raise typer.Exit(1)
    console.print("[green]no unsafe settings found[/green]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="API processes")] = 1,
    no_migrate: Annotated[bool, typer.Option(help="Skip the schema upgrade")] = False,
    no_sweeper: Annotated[
        bool, typer.Option(help="No background jobs in these processes: run `kinsave worker`")
    ] = False,
    server: Annotated[
        str, typer.Option(help="The HTTP server: uvicorn (default, decision 30) or granian")
    ] = "uvicorn",
) -> None:
    """Serve the API (and the sweeper that refunds expired envelopes). Warns first about
    settings unsafe for production (`kinsave check`)."""
    import os

    from kinsave.ops.serving import warn_unsafe

    if server not in ("granian", "uvicorn"):
        raise typer.BadParameter(f"--server: granian or uvicorn, not {server!r}")
    if no_sweeper:  # read again by every API process the server starts
        os.environ["KINSAVE_SWEEPER_ENABLED"] = "0"
        get_settings.cache_clear()
    warn_unsafe(get_settings(), workers)
    _serve(host, port, workers, no_migrate, server)


def _serve(host: str, port: int, workers: int, no_migrate: bool, server: str = "uvicorn") -> None:
    from kinsave.ops.serving import serve_api

    if not no_migrate:
        migrate()
    serve_api(get_settings(), host, port, workers, server)


@app.command()
def worker() -> None:
    """Run the background jobs (expiries, reservation releases, reward payouts, webhook delivery)
    every KINSAVE_SWEEPER_INTERVAL_SECONDS until stopped, for API processes served with
    --no-sweeper. Several workers may run at once: each item is settled exactly once."""
    from kinsave.ops.serving import run_worker

    run_worker(get_settings())


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    seed_only: Annotated[bool, typer.Option(help="Seed and exit without serving")] = False,
) -> None:
    """Seed a demo shop, campaign and family, then serve with dev login on."""
    import os

    from kinsave import demo as demo_data
    from kinsave.demo_catalog import demo_store_installed

    with_store = demo_store_installed()
    os.environ.setdefault("KINSAVE_DEV_LOGIN", "1")
    os.environ.setdefault("KINSAVE_DEMO_STORE", "1" if with_store else "0")
    if not with_store:
        console.print(
            "[yellow]The demo store is not installed: /store is not served and the demo shop has "
            "no catalog.[/yellow] Install it with: pip install 'kinsave\\[demo]'"
        )
    # The demo's stores and webhook receivers run on this machine (127.0.0.1).
    os.environ.setdefault("KINSAVE_WEBHOOK_ALLOW_PRIVATE_URLS", "1")
    get_settings.cache_clear()
    migrate()
    base = f"http://{host}:{port}"
    with unit_of_work(_session_factory()) as session:
        seeded = demo_data.seed(session, get_settings(), with_store=with_store)
        # kinsave signs its webhooks to the store; the store checks them with this secret.
        if with_store:
            os.environ["KINSAVE_DEMO_STORE_WEBHOOK_SECRET"] = demo_data.connect_store_webhook(
                session, seeded.shop_id, f"{base}/store/webhooks/kinsave"
            )
    console.print(demo_data.describe(seeded, base, with_store=with_store))
    # The demo store calls this server's store API with the key the seed just issued.
    os.environ["KINSAVE_DEMO_STORE_KEY"] = seeded.store_key
    os.environ.setdefault("KINSAVE_DEMO_STORE_API_URL", base)
    get_settings.cache_clear()
    if not seed_only:
        _serve(host, port, workers=1, no_migrate=True)  # unsafe on purpose: no warnings


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
    table.add_row("shops whose accounts do not sum to zero", str(len(report.unbalanced_shops)))
    table.add_row("transfers across shops", str(len(report.cross_shop_transfers)))
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
def backup(
    path: Annotated[Path, typer.Argument(help="The new backup file (must not exist)")],
) -> None:
    """Copy the database to PATH while the server may be writing: SQLite's online backup API,
    or pg_dump --format=custom for PostgreSQL (restore with pg_restore). See docs/operations.md."""
    from rich.progress import Progress

    from kinsave.ops.backup import BackupError, backup_database

    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("backing up (pages)", total=None)
            done = backup_database(
                get_settings(),
                path,
                lambda copied, total: progress.update(task, completed=copied, total=total),
            )
    except BackupError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(f"[green]{done}[/green]")


@app.command()
def expire() -> None:
    """Settle everything that is due now: refund expired envelopes and help requests, fail the
    groups whose window ended, release expired checkout reservations, pay referral rewards
    whose hold ended, delete the rate-limit counters whose window ended (the server's sweeper
    does the same periodically)."""
    from kinsave.jobs import (
        delete_expired_rate_counters,
        expire_envelopes,
        expire_help_requests,
        expire_price_cuts,
        fail_expired_groups,
        release_expired_reservations,
        release_referral_rewards,
    )

    factory = _session_factory()
    report = expire_envelopes(factory)
    console.print(f"expired {report.expired} envelopes, refunded {report.refunded_amount}")
    helps = expire_help_requests(factory)
    console.print(f"expired {helps.expired} help requests, refunded {helps.refunded_amount}")
    cuts = expire_price_cuts(factory)
    console.print(f"expired {cuts.expired} price cuts")
    groups = fail_expired_groups(factory)
    console.print(f"failed {groups.failed} groups, {groups.units_returned} units back in stock")
    reservations = release_expired_reservations(factory)
    console.print(f"released {reservations.released} expired checkout reservations")
    released = release_referral_rewards(factory)
    console.print(f"paid {released.released} referral rewards, {released.paid_amount} in total")
    counters = delete_expired_rate_counters(factory)
    console.print(f"deleted {counters.deleted} ended rate-limit counters")


@app.command("deliver-webhooks")
def deliver_webhooks() -> None:
    """Send due webhook deliveries now, with retries per the backoff (the sweeper does it too)."""
    from kinsave.jobs import deliver_webhooks as deliver

    report = deliver(_session_factory(), get_settings())
    console.print(
        f"sent {report.sent}: delivered {report.delivered}, "
        f"retrying {report.retrying}, failed {report.failed}"
    )


@app.command("import-products")
def import_products(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a header row, or JSON lines; price in yuan (12.50)", exists=True
        ),
    ],
    shop: Annotated[str, typer.Option(help="Shop name")],
    batch: Annotated[int, typer.Option(help="Products per transaction")] = 500,
) -> None:
    """Upsert an existing shop's products from a file (sku, title, price, category, image_url,
    in_stock). An unknown shop name is refused: nothing is imported."""
    from rich.progress import Progress

    from kinsave.auth import service as auth
    from kinsave.catalog import importing
    from kinsave.catalog import service as catalog

    factory = _session_factory()
    with unit_of_work(factory) as session:
        shop_row = auth.find_shop(session, shop)
        known = auth.list_shop_names(session) if shop_row is None else []
    if shop_row is None:
        # A typo must not create a second shop that quietly holds the catalog.
        console.print(
            f"[red]no shop named {shop!r}[/red]; nothing imported. Shops: "
            + (", ".join(repr(name) for name in known) or "none yet")
            + f". Create it with: kinsave operator create --shop {shop!r}"
        )
        raise typer.Exit(1)
    shop_id = shop_row.id
    done = 0
    try:
        with Progress(console=console) as progress:
            task = progress.add_task("importing", total=importing.count_rows(file))
            for chunk in importing.read_batches(file, batch):
                with unit_of_work(factory) as session:
                    catalog.upsert_products(session, shop_id, chunk)
                done += len(chunk)
                progress.update(task, advance=len(chunk))
    except importing.ProductFileError as error:
        console.print(f"[red]{error}[/red] ({done} products imported before it)")
        raise typer.Exit(1) from error
    console.print(f"[green]imported {done} products into {shop!r} ({shop_id})[/green]")


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
    from kinsave.auth.shared_sessions import shared_sessions_for

    factory = _session_factory()
    settings = get_settings()
    # The API keeps sessions in Redis: their tombstones go there before the revocation commits.
    shared = shared_sessions_for(settings.redis_url, factory.kw["bind"])
    with unit_of_work(factory) as session:
        revoked = auth.revoke_shopper_sessions(session, shopper)
    if shared is not None:
        shared.client.close()
    console.print(f"revoked {revoked} sessions of {shopper!r}")


@store_key_app.command("create")
def store_key_create(shop: Annotated[str, typer.Option(help="Shop name")]) -> None:
    """Create the shop if needed and print a new store API key."""
    _create_key(shop, "store")


if __name__ == "__main__":
    app()
