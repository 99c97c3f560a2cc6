"""How a bench run looks in the terminal: Rich progress while it runs, a summary table after."""

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kinsave.bench.runner import BenchRun


class LiveProgress:
    """One progress line per variant; `update` is the runner's progress callback."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> "LiveProgress":
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def update(self, what: str, done: int, total: int) -> None:
        key = what.split(" (")[0]
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(what, total=total)
        self._progress.update(self._tasks[key], description=what, completed=done, total=total)


SHORT = {
    "envelope_empty": "empty",
    "already_grabbed": "again",
    "already_claimed_today": "again",
    "budget_exhausted": "exhausted",
    "service_unavailable": "503",
}


def summary(run: BenchRun) -> Table:
    table = Table(title=f"kinsave bench ({run.workers} API process(es) on {run.server} for HTTP)")
    columns = (
        "db",
        "scenario",
        "mode",
        "variant",
        "req/s",
        "p50 ms",
        "p99 ms",
        "answers",
        "cpu ms/req: load/api/pg/redis",
        "checks",
    )
    for column in columns:
        table.add_column(column, justify="right" if column in columns[4:7] else "left")
    for m in run.measurements:
        answers = " ".join(f"{SHORT.get(c, c)}:{n}" for c, n in sorted(m.outcomes.items()))
        per_request = m.notes.get("cpu_ms_per_request", {})
        cpu = "/".join(
            f"{per_request[k]:.2f}" if k in per_request else "-"
            for k in ("loadgen", "api", "postgres", "redis")
        )
        checks = "[green]ok[/green]" if not m.problems else f"[red]{len(m.problems)} bad[/red]"
        table.add_row(
            m.database,
            m.scenario,
            m.mode,
            m.variant,
            f"{m.throughput:,.0f}",
            f"{m.p50_ms:.1f}",
            f"{m.p99_ms:.1f}",
            answers,
            "-" if m.mode == "in-process" else cpu,
            checks,
        )
    return table


def ratios(run: BenchRun) -> Table:
    table = Table(title="kinsave's throughput as a ratio (same run, same database)")
    keys = (
        "vs_straightforward",
        "vs_database_limit",
        "vs_do_nothing",
        "vs_signed_do_nothing",
        "vs_bare_asgi",
    )
    for column in ("database", "scenario", "mode", "x straightforward", "x database limit"):
        table.add_column(column)
    table.add_column("x do-nothing")
    table.add_column("x signed do-nothing")
    table.add_column("x bare ASGI")
    for row in run.ratios():
        table.add_row(
            row["database"], row["scenario"], row["mode"], *(_ratio(row[k]) for k in keys)
        )
    return table


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
