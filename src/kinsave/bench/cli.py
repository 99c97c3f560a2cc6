"""`kinsave bench list|run`: the storms against their baselines and limits (docs/benchmarks.md).

The bench's modules are imported when a command runs, not when `kinsave` starts.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # the bench is imported when a command runs (see above)
    from pathlib import Path

    from kinsave.bench.runner import BenchRun

bench_app = typer.Typer(help="Benchmarks: the holiday storms, against baselines and limits.")
console = Console()


@bench_app.command("list")
def bench_list() -> None:
    """The scenarios, and those not built yet."""
    from kinsave.bench.runner import NOT_YET, SCENARIOS

    for name in SCENARIOS:
        console.print(f"[green]{name}[/green]")
    for name, what in NOT_YET.items():
        console.print(f"[yellow]{name}[/yellow] (not done: {what})")


@bench_app.command("run")
def bench_run(
    scenario: Annotated[
        list[str] | None, typer.Option(help="A scenario of `kinsave bench list`; default: all")
    ] = None,
    database_url: Annotated[
        list[str] | None,
        typer.Option(help="sqlite, postgresql (temporary databases) or a URL; default both"),
    ] = None,
    mode: Annotated[list[str] | None, typer.Option(help="in-process, http")] = None,
    scale: Annotated[str, typer.Option(help="tiny, quick, full, or a fraction of full")] = "quick",
    quick: Annotated[bool, typer.Option(help="Same as --scale quick")] = False,
    workers: Annotated[int, typer.Option(help="API processes for the HTTP runs")] = 1,
    output: Annotated[str, typer.Option(help="Folder for the JSON results")] = "bench-results",
    variant: Annotated[
        list[str] | None,
        typer.Option(help="Only these variants, e.g. 'kinsave', 'do-nothing' (default: all)"),
    ] = None,
    server: Annotated[
        list[str] | None,
        typer.Option(help="HTTP server: uvicorn (default) or granian; both: each in turn"),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(help="Redis for the gates (a Redis Cluster node too); default: local if up"),
    ] = None,
) -> None:
    """Run the storms; print throughput, p50/p99 and ratios; exit 1 on any invariant violation."""
    from pathlib import Path

    from kinsave.bench import console as bench_console
    from kinsave.bench.context import resolve_scale
    from kinsave.bench.runner import SCENARIOS, run

    names = _known_scenarios(scenario or list(SCENARIOS), SCENARIOS)
    sizes = resolve_scale("quick" if quick else scale)
    with bench_console.LiveProgress(console) as live:
        result = run(
            database_url or ["sqlite", "postgresql"],
            names,
            mode or ["in-process", "http"],
            sizes,
            workers,
            live.update,
            variant,
            server=server or ["uvicorn"],
            redis=redis_url,
        )
    _report(result, Path(output))


def _known_scenarios(names: list[str], scenarios: Iterable[str]) -> list[str]:
    unknown = [name for name in names if name not in scenarios]
    if unknown:
        raise typer.BadParameter(f"unknown or not yet built scenario(s): {unknown}")
    return names


def _report(result: "BenchRun", output: "Path") -> None:
    """Print the run and write its JSON; exit 1 on any invariant violation."""
    from kinsave.bench import console as bench_console

    console.print(bench_console.summary(result))
    console.print(bench_console.ratios(result))
    console.print(f"results: {result.write_json(output)}")
    for note in result.skipped:
        console.print(f"[yellow]skipped[/yellow] {note}")
    for problem in result.problems:
        console.print(f"[red]violation[/red] {problem}")
    if result.problems:
        raise typer.Exit(1)
