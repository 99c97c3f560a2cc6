"""Runs the scenarios: every variant on fresh data, timed, checked, and compared."""

import json
import os
import platform
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from kinsave.auth.shared_sessions import shared_sessions_for
from kinsave.bench import http, http_runs, seed
from kinsave.bench.checkout import Checkout
from kinsave.bench.checks import answer_problems
from kinsave.bench.context import PLAN_SEED, BenchContext, Scale, Scenario
from kinsave.bench.coupon_rush import CouponRush, redis_url
from kinsave.bench.daily_rush import DailyRush
from kinsave.bench.databases import temporary_database
from kinsave.bench.envelope_storms import FamilyEnvelope, ShopEnvelope
from kinsave.bench.grab_storm import GrabStorm
from kinsave.bench.group_rush import GroupRush
from kinsave.bench.holiday import Holiday
from kinsave.bench.measure import LoadResult, Measurement, drive_threads
from kinsave.bench.quote import Quote
from kinsave.config import Settings
from kinsave.db import make_engine, make_session_factory, unit_of_work
from kinsave.envelopes import service as envelopes
from kinsave.ledger import service as ledger
from kinsave.migrate import upgrade_to_head

SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "grab-storm": GrabStorm,
    "daily-rush": DailyRush,
    "coupon-rush": CouponRush,
    "shop-envelope": ShopEnvelope,
    "family-envelope": FamilyEnvelope,
    "holiday": Holiday,
    "quote": Quote,
    "checkout": Checkout,
    "group-rush": GroupRush,
}
NOT_YET: dict[str, str] = {}
Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class BenchRun:
    scale: Scale
    workers: int
    server: str = "uvicorn"
    redis_url: str | None = None
    measurements: list[Measurement] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # variants that could not run, and why

    @property
    def problems(self) -> list[str]:
        return [
            f"{m.database} {m.scenario} {m.mode} {m.variant}: {p}"
            for m in self.measurements
            for p in m.problems
        ]

    def ratios(self) -> list[dict[str, Any]]:
        """kinsave's throughput over the straightforward design, the database limit (in-process)
        and the do-nothing, signed do-nothing and bare ASGI endpoints (HTTP), each measured in
        the same run."""
        groups: dict[tuple[str, str, str], dict[str, float]] = {}
        for m in self.measurements:
            groups.setdefault((m.database, m.scenario, m.mode), {})[m.variant] = m.throughput
        rows = []
        for (database, scenario, mode), by_variant in groups.items():
            if "kinsave" not in by_variant and "kinsave plain" not in by_variant:
                continue  # nothing to compare (quote)
            kinsave = by_variant.get("kinsave") or by_variant.get("kinsave plain", 0.0)
            row: dict[str, Any] = {"database": database, "scenario": scenario, "mode": mode}
            for key, variant in (
                ("vs_straightforward", "straightforward"),
                ("vs_database_limit", "database limit"),
                ("vs_do_nothing", "do-nothing"),
                ("vs_signed_do_nothing", "signed do-nothing"),
                ("vs_bare_asgi", "bare ASGI"),
            ):
                other = by_variant.get(variant)
                row[key] = kinsave / other if other else None
            rows.append(row)
        return rows

    def write_json(self, folder: Path, suffix: str = "") -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"bench-{stamp}{'-' + suffix if suffix else ''}.json"
        path.write_text(
            json.dumps(
                {
                    "date": stamp,
                    "machine": machine(),
                    "scale": self.scale.__dict__,
                    "workers": self.workers,
                    "server": self.server,
                    "redis_url": self.redis_url,
                    "measurements": [m.as_json() for m in self.measurements],
                    "ratios": self.ratios(),
                    "problems": self.problems,
                    "skipped": self.skipped,
                },
                indent=2,
            )
        )
        return path


def machine() -> dict[str, Any]:
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(pages * page_size / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def bench_settings(database_url: str, scale: Scale, redis: str | None = None) -> Settings:
    """kinsave with its speed switches on, durable commits as shipped (SQLite FULL)."""
    return Settings(
        database_url=database_url,
        sweeper_enabled=False,
        session_cache_seconds=30.0,
        bench_endpoints=True,
        db_pool_size=max(8, scale.threads + 4),
        db_pre_ping=False,
        sqlite_synchronous="FULL",
        redis_url=redis or redis_url(),  # the gates, when Redis answers
        # The storm comes from one load generator, one IP: per-IP abuse limits would refuse it.
        # The benchmark measures the money path; rate limits have their own tests.
        rate_limits_enabled=False,
    )


def run(
    databases: list[str],
    scenario_names: list[str],
    modes: list[str],
    scale: Scale,
    workers: int,
    progress: Progress,
    variants: list[str] | None = None,
    *,
    server: str | list[str] = "uvicorn",
    redis: str | None = None,
) -> BenchRun:
    """Every scenario x mode x database; `variants` (names) narrows each scenario's variants;
    `server` serves the HTTP runs (several: each in turn, in the same run, the mode naming
    the server); `redis` (a URL, a Redis Cluster's too) for the gates."""
    servers = [server] if isinstance(server, str) else server
    result = BenchRun(scale, workers, ",".join(servers), redis)
    for database in databases:
        with temporary_database(database) as url:
            settings = bench_settings(url, scale, redis)
            upgrade_to_head(settings)
            engine = make_engine(settings)
            # The server keeps sessions in Redis: the crowd's go there as they are written.
            shared = shared_sessions_for(settings.redis_url, engine)
            try:
                factory = make_session_factory(engine)
                progress(f"{database}: signing in {scale.shoppers} shoppers", 0, 1)
                ctx = BenchContext(
                    settings, factory, url, seed.crowd(factory, scale.shoppers), scale
                )
                scenarios = [SCENARIOS[name]() for name in scenario_names]
                _note_skipped(scenarios, result, progress)
                if "in-process" in modes:
                    for scenario in scenarios:
                        result.measurements += _in_process(ctx, scenario, progress, variants)
                if "http" in modes:
                    _over_http(ctx, scenarios, servers, result, progress, variants)
            finally:
                if shared is not None:
                    shared.client.close()
                engine.dispose()
                result.write_json(Path("bench-results"), suffix="partial")  # survive a crash
    return result


def _note_skipped(scenarios: list[Scenario], result: BenchRun, progress: Progress) -> None:
    """The variants a scenario cannot run here, and why: once each in the run."""
    for scenario in scenarios:
        for note in getattr(scenario, "skipped", []):
            if note not in result.skipped:
                result.skipped.append(note)
                progress(note, 1, 1)


def _over_http(
    ctx: BenchContext,
    scenarios: list[Scenario],
    servers: list[str],
    result: BenchRun,
    progress: Progress,
    variants: list[str] | None,
) -> None:
    """Each scenario against an API server of each kind in turn (the mode names the server when
    there are several)."""
    for name in servers:
        label = f"http x{result.workers}" + (f" {name}" if len(servers) > 1 else "")
        with http.ApiServer(ctx.settings, result.workers, name) as api:
            for scenario in scenarios:
                http_runs.over_http(
                    ctx, scenario, api, progress, variants, label, result.measurements
                )


T = TypeVar("T")


def _chosen(variants: dict[str, T], wanted: list[str] | None) -> dict[str, T]:
    return {name: v for name, v in variants.items() if not wanted or name in wanted}


def _in_process(
    ctx: BenchContext, scenario: Scenario, progress: Progress, wanted: list[str] | None
) -> list[Measurement]:
    out = []
    for variant, factory in _chosen(scenario.inprocess_variants, wanted).items():
        what = f"{ctx.database} {scenario.name} in-process: {variant}"
        progress(what + " (preparing)", 0, 1)
        plan = prepare(ctx, scenario)
        items = plan.items()
        made = factory(ctx, plan)

        def report(done: int, what: str = what, total: int = len(items)) -> None:
            progress(what, done, total)

        try:
            if hasattr(made, "run"):  # the database limit drives its batches itself
                load = made.run(items, report)
            else:
                threads = getattr(scenario, "threads", None) or ctx.scale.threads
                load = drive_threads(items, threads, made, report)
        finally:
            for cleanup in ctx.cleanups:
                cleanup()
            ctx.cleanups.clear()
        progress(what + " (checking)", len(items), len(items))
        problems = checked(ctx, scenario, plan, load, variant)
        out.append(measurement(ctx, scenario.name, "in-process", variant, load, problems))
    return out


def prepare(ctx: BenchContext, scenario: Scenario) -> Any:
    """Fresh data for one variant, and the scenario's ordered attempts: drawn from the same
    seed for every variant, so every variant gets the very same attempts in the same order."""
    ctx.rng = random.Random(PLAN_SEED)
    return scenario.prepare(ctx)


def checked(
    ctx: BenchContext, scenario: Scenario, plan: Any, load: LoadResult, variant: str
) -> list[str]:
    """The scenario's checks, its expected answers, and the ledger reconciled."""
    if hasattr(plan, "amounts"):
        plan.amounts = load.amounts  # what each "ok" answer said it paid
    problems = []
    expected = getattr(scenario, "answers", None)
    if expected is not None:
        problems += answer_problems(load.codes, expected, variant)
    return (
        problems + scenario.check(ctx, plan, load.codes) + reconcile_problems(ctx.session_factory)
    )


def measurement(
    ctx: BenchContext, scenario: str, mode: str, variant: str, load: LoadResult, problems: list[str]
) -> Measurement:
    outcomes, p50, p99 = load.summary()
    return Measurement(
        scenario,
        ctx.database,
        mode,
        variant,
        len(load.codes),
        load.seconds,
        outcomes,
        round(p50, 2),
        round(p99, 2),
        problems=problems,
    )


def reconcile_problems(session_factory: sessionmaker[Session]) -> list[str]:
    """`ledger.service.reconcile` and `envelopes.service.escrow_problems`, as problem lines."""
    with unit_of_work(session_factory) as session:
        report = ledger.reconcile(session)
        report.domain_problems = envelopes.escrow_problems(session)
    if report.clean:
        return []
    return [
        f"reconcile not clean: sum {report.sum_of_balances}, "
        f"{len(report.mismatches)} mismatches, {len(report.negative_accounts)} negative",
        *report.domain_problems[:5],
    ]
