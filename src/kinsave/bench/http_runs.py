"""HTTP runs of a scenario: each variant's requests against `kinsave serve`, timed, the CPU of
every process counted, the answers checked.

Where the machine's CPU went during a variant, per process, read from /proc: the load generator
(its own rusage), the API server's process group, PostgreSQL's processes and Redis's. Given as
milliseconds of CPU per request and as cores (1.00: one core busy the whole time). The load
generator is the bottleneck only when its share approaches 1.00 (it is one process on one
core); the bare ASGI endpoint, driven by the same generator, shows its ceiling in every run.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy.engine import make_url

from kinsave.bench import http
from kinsave.bench.context import BenchContext, HttpTarget, Scenario
from kinsave.bench.measure import LoadResult, Measurement, percentile

SIGNED = "signed do-nothing"
READ_ONLY = {"do-nothing", "bare ASGI", SIGNED}  # variants that write nothing: they share a plan
# Served by a server of their own: the signed do-nothing reads the crowd's sessions, which the
# run's server remembers for 30 s (session_cache_seconds) once it has seen them, so on the
# shared server it would meet kinsave's tappers already signed in (or leave them so for kinsave).
OWN_SERVER = {SIGNED}
Progress = Callable[[str, int, int], None]


def over_http(
    ctx: BenchContext,
    scenario: Scenario,
    server: http.ApiServer,
    progress: Progress,
    wanted: list[str] | None,
    mode: str,
    out: list[Measurement],
) -> None:
    """Each HTTP variant's measurement appended to `out` as soon as it is done (a run stopped
    midway keeps the variants it finished)."""
    from kinsave.bench.runner import measurement, prepare

    plan: Any = None
    plan_used = False  # a plan serves the read-only runs and one writer; each writer gets fresh
    for variant, template in scenario.http_variants.items():
        if wanted and variant not in wanted:
            continue
        what = f"{ctx.database} {scenario.name} {mode}: {variant}"
        progress(what + " (preparing)", 0, 1)
        writes = variant not in READ_ONLY
        if plan is None or writes and plan_used:
            plan, plan_used = prepare(ctx, scenario), False
        if writes:
            plan_used = True
            prepare_http = getattr(scenario, "prepare_http", None)
            if prepare_http is not None:
                prepare_http(ctx, plan, variant)
        targets = scenario.http_targets(ctx, plan, template)
        progress(what, 0, len(targets))
        keep = writes and getattr(scenario, "keep_bodies", False)
        per_phase: dict[str, str] = {}
        with _server_for(ctx, server, variant) as serving:
            load, spent = _metered_load(ctx, scenario, serving, plan, variant, targets, per_phase)
        if keep:
            plan.bodies = load.bodies  # the scenario checks the answers themselves
        progress(what + " (checking)", len(targets), len(targets))
        problems = _problems(ctx, scenario, plan, load, variant)
        result = measurement(ctx, scenario.name, mode, variant, load, problems)
        result.notes.update(cpu_notes(spent, load, ctx.database))
        result.notes.update(per_phase)
        if writes and getattr(plan, "endpoints", None):
            result.notes["per_endpoint"] = per_endpoint(plan.endpoints, load)
        out.append(result)


def _server_for(
    ctx: BenchContext, server: http.ApiServer, variant: str
) -> AbstractContextManager[http.ApiServer]:
    """The run's server, or for a variant in OWN_SERVER a new one of the same kind, to which
    every tapper is new (as the run's is to them when kinsave's variant starts)."""
    if variant in OWN_SERVER:
        return http.ApiServer(ctx.settings, server.workers, server.server)
    return nullcontext(server)


def _metered_load(
    ctx: BenchContext,
    scenario: Scenario,
    server: http.ApiServer,
    plan: Any,
    variant: str,
    targets: list[HttpTarget],
    per_phase: dict[str, str],
) -> tuple[LoadResult, dict[str, float]]:
    """The variant's load (in the scenario's phases, for a writer that has them) and the CPU
    seconds the API, PostgreSQL, Redis and the load generator spent on it."""
    writes = variant not in READ_ONLY
    keep = writes and getattr(scenario, "keep_bodies", False)
    meters = {
        "api": http.CpuMeter(server.is_mine),
        "postgres": http.CpuMeter(http.postgres_of(_database_name(ctx.database_url))),
        "redis": http.CpuMeter(http.redis_of(ctx.settings.redis_url)),
    }
    phases = getattr(scenario, "http_phases", None)
    if writes and phases is not None:
        load, loadgen_cpu = _phased_load(
            server.port, phases(ctx, plan, variant), ctx.scale.connections, per_phase
        )
    else:
        load, loadgen_cpu = http.run_load(
            server.port, targets, ctx.scale.connections, keep_bodies=keep
        )
    spent = {name: meter.seconds() for name, meter in meters.items()}
    spent["loadgen"] = loadgen_cpu
    return load, spent


def _problems(
    ctx: BenchContext, scenario: Scenario, plan: Any, load: LoadResult, variant: str
) -> list[str]:
    """A writer's answers checked by the scenario; a reader's must all be ok."""
    from kinsave.bench.runner import checked

    if variant not in READ_ONLY:
        return checked(ctx, scenario, plan, load, variant)
    if set(load.codes) != {"ok"}:
        return [f"{variant} answered {sorted(set(load.codes))}"]
    return []


def _database_name(url: str) -> str:
    return make_url(url).database or "" if url.startswith("postgresql") else ""


def cpu_notes(spent: dict[str, float], load: LoadResult, database: str) -> dict[str, Any]:
    """CPU ms per request and cores used, per process kind."""
    requests, seconds = max(1, len(load.codes)), max(load.seconds, 1e-9)
    kinds = ["loadgen", "api", "redis"] + (["postgres"] if database == "postgresql" else [])
    notes: dict[str, Any] = {
        "cpu_ms_per_request": {k: round(spent[k] * 1000 / requests, 3) for k in kinds},
        "cpu_cores": {k: round(spent[k] / seconds, 2) for k in kinds},
    }
    # Kept under their old names for the reports that read them.
    notes["loadgen_cpu_share"] = notes["cpu_cores"]["loadgen"]
    notes["server_cpu_share"] = notes["cpu_cores"]["api"]
    if database == "postgresql":
        notes["postgres_cpu_share"] = notes["cpu_cores"]["postgres"]
    return notes


def per_endpoint(endpoints: list[str], load: LoadResult) -> dict[str, dict[str, float]]:
    """Per endpoint label: requests, p50 and p99 (ms), over the whole mixed run."""
    latencies: dict[str, list[float]] = defaultdict(list)
    for label, latency in zip(endpoints, load.latencies_ms, strict=True):
        latencies[label].append(latency)
    out = {}
    for label, values in sorted(latencies.items()):
        values.sort()
        out[label] = {
            "requests": len(values),
            "p50_ms": round(percentile(values, 0.5), 2),
            "p99_ms": round(percentile(values, 0.99), 2),
        }
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
        total.amounts += load.amounts
        cpu += phase_cpu
    return total, cpu
