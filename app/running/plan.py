"""What `multifolio validate` prints: what a run of a config would do, line by line, its data loaded and checked."""

from __future__ import annotations

from pathlib import Path

from multifolio.config.model import BacktestConfig
from multifolio.config.registry import PluginRegistry
from multifolio.config.window import DataWindow
from multifolio.data.market import MarketData
from multifolio.running.run import build_container, checked_timeframes, run_folder
from multifolio.wording import counted


def describe_plan(config: BacktestConfig, registry: PluginRegistry, output_dir: str | Path | None = None
                  ) -> list[str]:
    """What a run of `config` would do, line by line; loads and checks the data on the way."""
    root = build_container(config, registry)
    market, source = checked_timeframes(config, root.data.market()), root.data.source()
    notes = "; ".join(market.reading_notes()) or "rows dropped: none"
    lines = [f"data: {source.describe()}: {counted(len(market), 'bar')} of {', '.join(market.symbols)}, "
             f"{market.timestamps[0]} → {market.timestamps[-1]}; {notes}",
             *window_lines(config.data.window, market),
             f"output: {run_folder(config, output_dir)}"]
    book = config.book
    lines += book.describe() if book is not None else []
    funded = set(book.allocation.systems) if book is not None and book.allocation is not None else set()
    lines.append(f"{counted(len(config.systems), 'trading system')}:")
    for system in config.systems:
        risk, execution = system.risk, system.execution
        capital = "funded by the allocation" if system.name in funded else f"capital {system.initial_capital:,.2f}"
        window = system.portfolio.start or system.portfolio.end
        lines += [
            f"- {system.name} (namespace {system.namespace}), {capital}"
            + (f"; active from {system.portfolio.start or 'the first bar'} until {system.portfolio.end or 'the end'}"
               if window else ""),
            f"    strategy    {system.strategy.describe()}",
            f"    indicators  {', '.join(system.indicator_keys()) or 'none'}",
            f"    sizers      {'; '.join(spec.describe() for spec in risk.position_sizers)}",
            f"    limits      {'; '.join(spec.describe() for spec in risk.limits) or 'none'}"
            f" (lots of {risk.lot_size:g})",
            f"    costs       slippage {execution.slippage.describe()}; commission {execution.commission.describe()}",
            f"    fills       {execution.fill_at}; open positions at the end "
            f"{'closed' if system.portfolio.close_at_end else 'kept and valued at the last close'}",
        ]
    return lines


def window_lines(window: DataWindow | None, market: MarketData) -> list[str]:
    """The plan's line on `data.start`/`end`/`warmup`: the window traded and the bars read before it."""
    if window is None:
        return []
    line = f"window: {window.describe()}"
    if window.warmup is not None:
        where = "before data.start" if window.start is not None else "from the first bar"
        line += (f"; warm-up: {window.warmup.describe()} {where}, {counted(market.warmup.bars, 'bar')} "
                 f"from {market.warmup.first}, for the indicators only (not traded, in no result)")
    return [line]
