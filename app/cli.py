"""The `multifolio` command line: run, report, validate, plugins, sample-data."""

from __future__ import annotations

import gc
import inspect
import signal
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.errors import MultifolioError
from multifolio.wording import counted, plural

BUG = 1  # an error of multifolio's own: one sentence and a crash log
USER_ERROR = 2  # bad config, bad data: a message, no traceback
SYSTEM_FAILED = 3  # a plugin raised: its system failed, the others finished
INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
TERMINATED = 143  # SIGTERM, as shells report it

_PIPE_WIDTH = 160  # rich assumes 80 columns when stdout is not a terminal; a log file has room


def dropped_line(dropped: dict[str, int]) -> str:
    """What `data.on_invalid: drop` left out, most rows first: `data: 14 rows dropped (rule: 12, rule: 2)`."""
    rules = sorted(dropped.items(), key=lambda item: -item[1])  # a stable sort: ties keep the rules' order
    return (f"data: {counted(sum(dropped.values()), 'row')} dropped "
            f"({', '.join(f'{rule}: {count:,}' for rule, count in rules)})")


class Interruption:
    """Ctrl-C during a run: the first asks the engine to stop at the next bar boundary (and
    the results so far are written); the second stops at once (KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.requested = False
        self.exit_code = INTERRUPTED  # TERMINATED when SIGTERM asked

    def __call__(self) -> bool:
        return self.requested

    def __enter__(self) -> Interruption:
        self._previous = {number: signal.signal(number, self._handle) for number in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if signum == signal.SIGTERM:
            self.exit_code = TERMINATED
        click.echo(f"\n{signal.Signals(signum).name}: stopping at the next bar boundary (again to stop at once)",
                   err=True)


class _UserErrors(click.Group):
    """Turns every MultifolioError into its message and exit code 2; anything else that escapes is a bug
    of multifolio's: one sentence, the path of its crash log, exit 1. Never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MultifolioError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(USER_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:  # the last line of defence
            log = getattr(error, "crash_log", None) or _crash_log()
            click.echo(f"error: this is a bug in multifolio ({type(error).__name__}: {str(error)[:300]}); "
                       f"the traceback is in {log}; please report it with that file", err=True)
            ctx.exit(BUG)


def _crash_log() -> Path:
    """The traceback being handled, in a file of its own in the temporary folder (there is no run folder)."""
    import tempfile
    import traceback

    handle, name = tempfile.mkstemp(prefix="multifolio-crash-", suffix=".log")
    with open(handle, "w", encoding="utf-8") as stream:
        stream.write(traceback.format_exc())
    return Path(name)


@click.group(cls=_UserErrors)
@click.version_option(package_name="multifolio")
def cli() -> None:
    """multifolio: many trading systems, one data pass, isolated portfolios."""


@cli.command()
@click.argument("config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for results (overrides reporting.output_dir).")
@click.option("--quiet", is_flag=True, help="No progress bar and no table.")
@click.option("--dry-run", is_flag=True, help="Check everything and print the plan, as `validate` does; run nothing.")
@click.option("--executor", type=click.Choice(["serial", "processes", "dask"]),
              help="Where the systems run (overrides execution_engine.type).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (overrides execution_engine.workers).")
@click.option("--address", help="A Dask scheduler such as tcp://host:8786 (implies --executor dask).")
@click.pass_context
def run(ctx: click.Context, config_path: Path, output_dir: Path | None, quiet: bool, dry_run: bool,
        executor: str | None, workers: int | None, address: str | None) -> None:
    """Run the backtest described by CONFIG_PATH and write its results.

    Exit codes: 0 done, 1 a bug of multifolio's (a crash log is written), 2 bad input, 3 a system failed
    (the others finished), 130 interrupted by Ctrl-C or 143 by SIGTERM (results up to the last bar are
    written and marked so).
    """
    from multifolio.api import load
    from multifolio.running.run import NOT_STEPPED

    if dry_run:
        ctx.invoke(validate, config_path=config_path, output_dir=output_dir)
        return
    backtest = load(config_path, executor=executor, workers=workers, address=address)
    started = time.perf_counter()
    try:
        with Interruption() as interruption:
            result = backtest.run(output_dir=output_dir or backtest.config.reporting.output_dir, progress=not quiet,
                                  stop_requested=interruption, keep_tables=False)  # the files are the record
    except KeyboardInterrupt:
        click.echo("stopped at once (second Ctrl-C or SIGTERM): the run's manifest.json does not say completed; "
                   "every file present is complete", err=True)
        ctx.exit(interruption.exit_code)
    elapsed = time.perf_counter() - started
    systems = result.systems.values()
    if not quiet:
        from multifolio.tables import end_of_run

        console = Console()
        if not console.is_terminal:
            console = Console(width=_PIPE_WIDTH)
        console.print(*end_of_run(result, console.width))
    click.echo(f"results: {result.folder}  ({elapsed:.2f} s)")
    if result.reversed_files:
        click.echo(f"data: read newest-first, put in time order: {', '.join(result.reversed_files)}")
    if result.dropped:
        click.echo(dropped_line(result.dropped))
    for system in systems:
        if system.stopped is not None:
            halt = system.stopped
            detail = f" ({halt['detail']})" if halt["detail"] else ""
            click.echo(f"stopped: {system.name} at bar {halt['bar']} ({halt['time'].isoformat()}): {halt['reason']}"
                       f"{detail}; closed and traded no more", err=True)
        if system.status == "failed" and system.error != NOT_STEPPED:
            last_line = system.error.strip().splitlines()[-1]
            click.echo(f"error: {system.name} {system.failed_at} ({result.folder / system.name / 'error.log'}): "
                       f"{last_line}", err=True)
    if result.status == "interrupted":
        lasts = sorted({system.last_bar for system in systems if system.status == "interrupted"})
        where = f"bar {lasts[0]}" if len(lasts) == 1 else f"bars {lasts[0]}–{lasts[-1]} (each system's own)"
        done = (f"results up to {where} are written and marked interrupted" if lasts
                else "between two passes: the systems stepped are written in full")
        never = sum(system.error == NOT_STEPPED for system in systems)
        later = f"; {counted(never, 'system')} of later passes never stepped (so their folders say)" if never else ""
        click.echo(f"interrupted: {done}{later}", err=True)
        ctx.exit(interruption.exit_code)
    if result.status == "failed":
        ctx.exit(SYSTEM_FAILED)


@cli.command()
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def report(results_dir: Path) -> None:
    """Render the HTML reports of RESULTS_DIR (a run's folder) again from its saved files."""
    from multifolio.running.run import render_run

    written = render_run(results_dir)
    if not written:
        raise MultifolioError(f"{results_dir}: not a run's folder (no manifest.json, or nothing it lists to "
                              "render); expected a folder such as results/dual_portfolio_test")
    for path in written:
        if path.suffix == ".html":
            click.echo(f"wrote {path}")


@cli.command()
@click.argument("config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for results (overrides reporting.output_dir).")
def validate(config_path: Path, output_dir: Path | None) -> None:
    """Check CONFIG_PATH completely (keys, plugins, data) and print each system's plan, without running it."""
    from multifolio.api import load

    lines = load(config_path).plan(output_dir)
    click.echo(f"{config_path}: valid")
    for line in lines:
        click.echo(line)


@cli.command()
def schema() -> None:
    """Print a JSON Schema of the config file (for editors), with the installed plugins' names."""
    import json

    from multifolio.config.schema import config_schema
    from multifolio.running.run import RANKING_FIGURES

    click.echo(json.dumps(config_schema(PluginRegistry(), RANKING_FIGURES), indent=2))


@cli.command()
def plugins() -> None:
    """List every installed plugin with its parameters and defaults."""
    registry = PluginRegistry()
    console = Console()
    for kind in PluginKind:
        table = Table(title=f"{plural(kind.label).capitalize()} ({kind.group})", title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("parameters")
        for name in registry.names(kind):
            try:
                params = registry.parameters(kind, name)
            except MultifolioError as error:
                table.add_row(name, f"[red]{error}[/red]")
                continue
            shown = ", ".join(name if default is inspect.Parameter.empty else f"{name}={default!r}"
                              for name, default in params.items() if name != "symbols")
            table.add_row(name, shown or "–")
        console.print(table)


@cli.command("sample-data")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--symbol", default="SPY", show_default=True)
@click.option("--bars", default=20_000, show_default=True, type=click.IntRange(min=2))
@click.option("--frequency", default="1min", show_default=True)
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--model", default="index", show_default=True,
              help="index: calibrated to the S&P 500; random_walk: the first versions' bars")
def sample_data(path: Path, symbol: str, bars: int, frequency: str, seed: int, model: str) -> None:
    """Write synthetic OHLCV bars to PATH (.csv or .parquet), the same as `source: synthetic` makes."""
    from multifolio.files import atomic_write

    registry = PluginRegistry()
    source = registry.create(PluginKind.DATA_SOURCE, "synthetic", {
        "symbols": [symbol], "bars": bars, "frequency": frequency, "seed": seed, "model": model})
    frame = source.load().drop(columns="symbol")
    if path.suffix == ".parquet":
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
    else:
        atomic_write(path, lambda stream: frame.to_csv(stream, index=False, lineterminator="\n"))
    click.echo(f"wrote {len(frame)} bars of {symbol} to {path}")


def main(argv: list[str] | None = None) -> None:
    """The program: the command, then the process ends."""
    try:
        cli.main(args=argv, prog_name="multifolio")
    finally:
        # the interpreter's last full collection would pass over every object only for the system to free them
        # all: some 0.4 s after a million-bar run. Every file is closed by now (written atomically, in `with`)
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
