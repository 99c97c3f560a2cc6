"""Runs the scenarios: every variant on fresh data, timed, checked, and compared."""

import json
import os
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from kinsave.bench import http, seed
from kinsave.bench.checkout import Checkout
from kinsave.bench.context import BenchContext, HttpTarget, Scale, Scenario
from kinsave.bench.coupon_rush import CouponRush, redis_url
from kinsave.bench.daily_rush import DailyRush
from kinsave.bench.databases import temporary_database
from kinsave.bench.grab_storm import GrabStorm
from kinsave.bench.group_rush import GroupRush
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
        """kinsave's throughput over the straightforward design and over the limit, per run."""
        groups: dict[tuple[str, str, str], dict[str, float]] = {}
        for m in self.measurements:
            groups.setdefault((m.database, m.scenario, m.mode), {})[m.variant] = m.throughput
        rows = []
        for (database, scenario, mode), by_variant in groups.items():
            if "kinsave" not in by_variant and "kinsave plain" not in by_variant:
                continue  # nothing to compare (quote)
            limit = by_variant.get("raw limit") or by_variant.get("do-nothing")
            kinsave = by_variant.get("kinsave") or by_variant.get("kinsave plain", 0.0)
            straightforward = by_variant.get("straightforward")
            rows.append(
                {
                    "database": database,
                    "scenario": scenario,
                    "mode": mode,
                    "vs_straightforward": kinsave / straightforward if straightforward else None,
                    "vs_limit": kinsave / limit if limit else None,
                }
            )
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


def bench_settings(database_url: str, scale: Scale) -> Settings:
    """kinsave with its speed switches on, durable commits as shipped (SQLite FULL)."""
    return Settings(
        database_url=database_url,
        sweeper_enabled=False,
        session_cache_seconds=30.0,
        bench_endpoints=True,
        db_pool_size=max(8, scale.threads + 4),
        db_pre_ping=False,
        sqlite_synchronous="FULL",
        redis_url=redis_url(),  # the coupon claim gate, when Redis answers
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
) -> BenchRun:
    """Every scenario x mode x database; `variants` (names) narrows each scenario's variants."""
    result = BenchRun(scale, workers)
    for database in databases:
        with temporary_database(database) as url:
            settings = bench_settings(url, scale)
            upgrade_to_head(settings)
            engine = make_engine(settings)
            try:
                factory = make_session_factory(engine)
                progress(f"{database}: signing in {scale.shoppers} shoppers", 0, 1)
                ctx = BenchContext(
                    settings, factory, url, seed.crowd(factory, scale.shoppers), scale
                )
                scenarios = [SCENARIOS[name]() for name in scenario_names]
                for scenario in scenarios:
                    for note in getattr(scenario, "skipped", []):
                        if note not in result.skipped:
                            result.skipped.append(note)
                            progress(note, 1, 1)
                if "in-process" in modes:
                    for scenario in scenarios:
                        result.measurements += _in_process(ctx, scenario, progress, variants)
                if "http" in modes:
                    with http.ApiServer(settings, workers) as server:
                        for scenario in scenarios:
                            result.measurements += _over_http(
                                ctx, scenario, server, progress, variants
                            )
            finally:
                engine.dispose()
                result.write_json(Path("bench-results"), suffix="partial")  # survive a crash
    return result


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
        plan = scenario.prepare(ctx)
        items = plan.items()
        make_caller = factory(ctx, plan)

        def report(done: int, what: str = what, total: int = len(items)) -> None:
            progress(what, done, total)

        try:
            threads = getattr(scenario, "threads", None) or ctx.scale.threads
            load = drive_threads(items, threads, make_caller, report)
        finally:
            for cleanup in ctx.cleanups:
                cleanup()
            ctx.cleanups.clear()
        progress(what + " (checking)", len(items), len(items))
        problems = scenario.check(ctx, plan, load.codes) + reconcile_problems(ctx.session_factory)
        out.append(_measurement(ctx, scenario.name, "in-process", variant, load, problems))
    return out


def _over_http(
    ctx: BenchContext,
    scenario: Scenario,
    server: http.ApiServer,
    progress: Progress,
    wanted: list[str] | None,
) -> list[Measurement]:
    out: list[Measurement] = []
    plan: Any = None
    plan_used = False  # a plan serves the do-nothing run and one writer; each writer gets fresh
    for variant, template in _chosen(scenario.http_variants, wanted).items():
        what = f"{ctx.database} {scenario.name} http x{server.workers}: {variant}"
        progress(what + " (preparing)", 0, 1)
        writes = variant != "do-nothing"
        if plan is None or writes and plan_used:
            plan, plan_used = scenario.prepare(ctx), False
        if writes:
            plan_used = True
            prepare_http = getattr(scenario, "prepare_http", None)
            if prepare_http is not None:
                prepare_http(ctx, plan, variant)
        targets = scenario.http_targets(ctx, plan, template)
        progress(what, 0, len(targets))
        keep = writes and getattr(scenario, "keep_bodies", False)
        server_cpu, database_cpu = server.cpu_seconds(), http.postgres_cpu_seconds()
        phases = getattr(scenario, "http_phases", None)
        per_phase: dict[str, str] = {}
        if writes and phases is not None:
            load, cpu = _phased_load(
                server.port, phases(ctx, plan, variant), ctx.scale.connections, per_phase
            )
        else:
            load, cpu = http.run_load(server.port, targets, ctx.scale.connections, keep_bodies=keep)
        server_cpu = server.cpu_seconds() - server_cpu
        database_cpu = http.postgres_cpu_seconds() - database_cpu
        if keep:
            plan.bodies = load.bodies  # the scenario checks the answers themselves
        progress(what + " (checking)", len(targets), len(targets))
        problems = []
        if writes:
            problems = scenario.check(ctx, plan, load.codes)
            problems += reconcile_problems(ctx.session_factory)
        elif set(load.codes) != {"ok"}:
            problems = [f"do-nothing answered {sorted(set(load.codes))}"]
        measurement = _measurement(
            ctx, scenario.name, f"http x{server.workers}", variant, load, problems
        )
        # In cores (1.0: one core busy the whole time): where the machine's two cores went.
        measurement.notes["loadgen_cpu_share"] = round(cpu / load.seconds, 2)
        measurement.notes["server_cpu_share"] = round(server_cpu / load.seconds, 2)
        measurement.notes.update(per_phase)
        if ctx.database == "postgresql":
            measurement.notes["postgres_cpu_share"] = round(database_cpu / load.seconds, 2)
        out.append(measurement)
    return out


def _phased_load(
    port: int,
    phases: Iterator[tuple[str, list[HttpTarget], Callable[[list[str]], None]]],
    connections: int,
    per_phase: dict[str, str],
) -> tuple[LoadResult, float]:
    """Phases run one after the other (a step's requests after the step before it answered),
    each handed its answers before the next phase is built; one load result for all of them.
    `per_phase` gets each phase's requests/s and p50/p99 (ms)."""
    total = LoadResult(0.0, [], [], [])
    cpu = 0.0
    for name, targets, answered in phases:
        if not targets:
            continue
        load, phase_cpu = http.run_load(port, targets, connections, keep_bodies=True)
        answered(load.bodies)
        _, p50, p99 = load.summary()
        per_phase[name] = f"{len(targets) / load.seconds:.0f}/s p50 {p50:.1f} p99 {p99:.1f}"
        total.seconds += load.seconds
        total.codes += load.codes
        total.latencies_ms += load.latencies_ms
        cpu += phase_cpu
    return total, cpu


def _measurement(
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
