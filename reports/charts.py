"""The reports' plotly figures, built from result frames; long series are downsampled for display."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from multifolio.reports.downsample import display_indices
from multifolio.reports.metrics import drawdowns

CELL_TEXT_LIMIT = 20  # systems in a correlation heatmap up to which each cell shows its coefficient
MARKER_LIMIT = 5000  # trades drawn as markers; beyond it the largest by |net PnL| (an SVG stays responsive)
# above this many trades on one chart the markers are drawn small and faint: hundreds of full-size markers
# cover a 1,400 px wide price line (the line is drawn over them in any case: `zorder`)
DENSE_MARKERS = 250
GREEN, RED, GREY = "#1a9850", "#d73027", "#6b7280"
COLORS = ("#2563eb", "#ea580c", "#16a34a", "#9333ea", "#db2777", "#0891b2", "#ca8a04", "#4b5563")

TEMPLATE = go.layout.Template(layout={
    "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12, "color": "#1f2937"},
    "colorway": list(COLORS), "paper_bgcolor": "white", "plot_bgcolor": "white", "hovermode": "x unified",
    "margin": {"l": 60, "r": 20, "t": 78, "b": 40},
    "title": {"x": 0, "xref": "paper", "y": 0.985, "yref": "container", "yanchor": "top", "font": {"size": 15}},
    "xaxis": {"gridcolor": "#eef0f3", "linecolor": "#c7ccd4", "zeroline": False, "automargin": True},
    "yaxis": {"gridcolor": "#eef0f3", "linecolor": "#c7ccd4", "zeroline": False, "automargin": True},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left", "x": 0},
})


def _wall_clock(stamps: Sequence | pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Times on the clock the bars were stamped in: a zoned run's local times, not UTC's (a New York session
    is drawn from 09:30 to 16:00, and its nights and weekends are the hours skipped)."""
    stamps = pd.DatetimeIndex(stamps)
    return stamps if stamps.tz is None else stamps.tz_localize(None)


def epoch_ms(stamps: Sequence | pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Times as milliseconds since 1970 on their own clock (plotly's date axes read them as such; as floats
    they travel as binary)."""
    return _wall_clock(stamps).as_unit("ms").asi8.astype(np.float64)


_DAY_NS, _HOUR_NS = 86_400 * 10**9, 3_600 * 10**9
_MONDAY_EPOCH_DAYS = 3  # 1970-01-01 was a Thursday: (days since 1970 + 3) % 7 is 0 on Mondays


def time_axis(stamps: pd.Series | pd.DatetimeIndex) -> dict:
    """A date axis that skips the time without bars: weekends, nights outside the session, missing weekdays.

    Without it a minute-bar chart spends two thirds of its width on closed markets. The
    session is read from the data (earliest bar to latest bar end of any day), on the
    clock `epoch_ms` draws. Computed on the nanoseconds, as a million bars take a few ms.
    """
    if len(stamps) < 2:
        return {"type": "date"}
    ns = _wall_clock(stamps).as_unit("ns").asi8
    days = ns // _DAY_NS  # floor division: days since 1970, before 1970 too
    steps = np.diff(days)
    # the days seen: bars in time order (as a run's are) give them without a sort
    seen = days[np.concatenate(([True], steps != 0))] if (steps >= 0).all() else np.unique(days)
    breaks = []
    if not ((seen + _MONDAY_EPOCH_DAYS) % 7 >= 5).any():
        breaks.append({"bounds": ["sat", "mon"]})
    # the usual bar spacing; as floats, because numpy's selection crawls over many equal integers
    step = np.median(np.diff(ns).astype(np.float64))
    if step < _DAY_NS:
        of_day = ns - days * _DAY_NS
        opens, closes = of_day.min() / _HOUR_NS, (of_day.max() + step) / _HOUR_NS
        if opens > 0 or closes < 24:
            breaks.append({"bounds": [float(closes), float(opens)], "pattern": "hour"})
    weekdays = np.arange(seen[0], seen[-1] + 1)
    weekdays = weekdays[(weekdays + _MONDAY_EPOCH_DAYS) % 7 < 5]
    missing = np.setdiff1d(weekdays, seen, assume_unique=True)
    if len(missing):
        breaks.append({"values": [str(day) for day in missing.astype("datetime64[D]")]})
    return {"type": "date", "rangebreaks": breaks}


def new_figure(rows: int | None = None, heights: Sequence[float] | None = None, title: str = "",
            height: int = 420) -> go.Figure:
    """A figure in the reports' style: `rows` stacked panels sharing the time axis, or one plain plot."""
    figure = go.Figure() if rows is None else make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.04, row_heights=list(heights) if heights else None)
    figure.update_layout(template=TEMPLATE, title_text=title, height=height)
    return figure


def _line(stamps: np.ndarray, values: np.ndarray, name: str, *, keep: np.ndarray | None = None,
          **options) -> go.Scatter:
    """A line trace of (stamps, values) showing at most the display budget of points."""
    keep = display_indices(values) if keep is None else keep
    return go.Scatter(x=stamps[keep], y=np.asarray(values, dtype=np.float64)[keep], name=name, mode="lines",
                      **options)


def equity_figure(equity: pd.DataFrame, initial_capital: float | None, earned: pd.Series | None = None
                  ) -> go.Figure:
    """Equity over time with the drawdown underneath (and the initial capital dotted, when given). For a
    system the book moved capital in and out of, `earned` is its initial capital grown by its time-weighted
    returns: drawn beside the equity, and the drawdown is its (a transfer out is no loss)."""
    stamps = epoch_ms(equity["timestamp"])
    figure = new_figure(2, (0.7, 0.3), "Equity and drawdown", 520)
    figure.add_trace(_line(stamps, equity["equity"].to_numpy(), "equity", line={"color": COLORS[0], "width": 1.5}),
                     row=1, col=1)
    if earned is not None:
        figure.add_trace(_line(stamps, earned.to_numpy(), "initial capital grown by the returns (transfers left out)",
                               line={"color": COLORS[2], "width": 1.2, "dash": "dot"}), row=1, col=1)
    figure.add_trace(_line(stamps, drawdowns(equity["equity"] if earned is None else earned) * 100, "drawdown %",
                           fill="tozeroy", line={"color": RED, "width": 1}), row=2, col=1)
    if initial_capital is not None:
        figure.add_hline(y=initial_capital, line={"color": GREY, "dash": "dot", "width": 1}, row=1, col=1)
    figure.update_xaxes(**time_axis(equity["timestamp"]))
    figure.update_yaxes(title_text="equity", row=1, col=1)
    figure.update_yaxes(title_text="drawdown %", row=2, col=1)
    return figure


def _overlays_price(values: np.ndarray, close: np.ndarray) -> bool:
    """An indicator in the price's units (SMA, EMA, bands) is drawn over the price; others (RSI, ATR, MACD)
    below it. In price units means it follows the close bar by bar: within a quarter of it at the median bar,
    and rising and falling with it (correlation over 0.8) where the close moves. Comparing medians alone
    drew an RSI near 50 over a price near 100."""
    both = np.isfinite(values) & np.isfinite(close)
    if not both.any():
        return False
    values, close = values[both], close[both]
    if np.median(np.abs(values / close - 1.0)) >= 0.25:
        return False
    if np.ptp(close) == 0 or np.ptp(values) == 0:
        return True
    return bool(np.corrcoef(values, close)[0, 1] > 0.8)


def price_figure(symbol: str, bars: pd.DataFrame, indicators: pd.DataFrame, keys: Sequence[str],
                 trades: pd.DataFrame, open_lots: pd.DataFrame) -> go.Figure:
    """One symbol's close with the system's indicators, its trades' entries and exits and the lots still held."""
    close = bars["close"].to_numpy(dtype=np.float64)
    stamps = epoch_ms(bars["timestamp"])
    keep = display_indices(close)
    # indicator rows line up with the bar rows: both are the symbol's own bars in time order
    overlays = [key for key in keys if _overlays_price(indicators[key].to_numpy(dtype=np.float64), close)]
    panels = [key for key in keys if key not in overlays]
    rows = 1 + len(panels)
    figure = new_figure(rows, (0.7, *[0.3 / len(panels)] * len(panels)) if panels else None,
                     f"{symbol}: price, indicators and trades", 460 + 140 * len(panels))
    # zorder 1: the close is drawn over the trade markers (default 0), which would otherwise hide it
    figure.add_trace(_line(stamps, close, f"{symbol} close", keep=keep, line={"color": "#111827", "width": 1.2},
                           zorder=1), row=1, col=1)
    for number, key in enumerate(overlays):
        figure.add_trace(_line(stamps, indicators[key].to_numpy(dtype=np.float64), key, keep=keep,
                               line={"width": 1, "color": COLORS[(number + 1) % len(COLORS)]}), row=1, col=1)
    for row, key in enumerate(panels, start=2):
        figure.add_trace(_line(stamps, indicators[key].to_numpy(dtype=np.float64), key, keep=keep,
                               line={"width": 1, "color": COLORS[(row + len(overlays)) % len(COLORS)]}),
                         row=row, col=1)
        figure.update_yaxes(title_text=key, row=row, col=1)
    for trace in trade_markers(trades):
        figure.add_trace(trace, row=1, col=1)
    figure.add_trace(go.Scatter(
        x=epoch_ms(open_lots["entry_time"]), y=open_lots["entry_price"].to_numpy(dtype=np.float64),
        mode="markers", name="open at the end", marker={"symbol": "diamond", "size": 9, "color": COLORS[0]},
        customdata=open_lots["quantity"].to_numpy(dtype=np.float64),
        hovertemplate="held at the end: %{customdata:,.4g} @ %{y:,.4f}<extra></extra>"), row=1, col=1)
    figure.update_xaxes(**time_axis(bars["timestamp"]))
    return figure


def marker_style(trades: int) -> dict[str, float]:
    """Size and opacity of the trade markers of a chart with `trades` trades: full below `DENSE_MARKERS`,
    small and faint above, so the price line stays readable between them."""
    if trades <= DENSE_MARKERS:
        return {"entry": 7, "exit": 6, "opacity": 0.8}
    return {"entry": 4, "exit": 4, "opacity": 0.45}


def trade_markers(trades: pd.DataFrame) -> list[go.Scatter]:
    """Entry markers (▲ long, ▼ short) and exit markers (✕, green for a win, red for a loss); `marker_style`
    says how large."""
    shown = trades
    note = ""
    if len(trades) > MARKER_LIMIT:
        order = np.argsort(-trades["net_pnl"].abs().to_numpy(), kind="stable")[:MARKER_LIMIT]
        shown = trades.iloc[np.sort(order)]
        note = f" (largest {MARKER_LIMIT:,} of {len(trades):,})"
    style = marker_style(len(shown))
    hover = "%{customdata[0]} %{customdata[1]:,.4g} @ %{y:,.4f}<br>net PnL %{customdata[2]:,.2f}<extra></extra>"
    traces = []
    for side, symbol, color in (("long", "triangle-up", GREEN), ("short", "triangle-down", RED)):
        mine = shown[shown["side"] == side]
        traces.append(go.Scatter(
            x=epoch_ms(mine["entry_time"]), y=mine["entry_price"].to_numpy(dtype=np.float64),
            mode="markers", name=f"{side} entry{note}",
            marker={"symbol": symbol, "size": style["entry"], "color": color, "opacity": style["opacity"]},
            customdata=np.column_stack([np.full(len(mine), f"{side} entry"), mine["quantity"], mine["net_pnl"]]),
            hovertemplate=hover))
    won = shown["net_pnl"].to_numpy() > 0
    traces.append(go.Scatter(
        x=epoch_ms(shown["exit_time"]), y=shown["exit_price"].to_numpy(dtype=np.float64), mode="markers",
        # the colour of each exit as a number on a two-colour scale: plotly checks a number per point in a
        # fraction of the time it takes to check a colour name per point
        name=f"exit{note}", marker={"symbol": "x-thin", "size": style["exit"], "opacity": style["opacity"],
                                    "line": {"width": 1.5, "color": won.astype(np.float64), "cmin": 0, "cmax": 1,
                                             "colorscale": [[0, RED], [1, GREEN]]}},
        customdata=np.column_stack([np.char.add(shown["side"].to_numpy(dtype=str), " exit"), shown["quantity"],
                                    shown["net_pnl"]]),
        hovertemplate=hover))
    return traces


def period_returns(equity: pd.DataFrame, initial_capital: float) -> tuple[pd.Series, str]:
    """Returns per calendar month when the data spans a year or more, else per day."""
    stamps = pd.DatetimeIndex(equity["timestamp"])
    months = (stamps[-1].year - stamps[0].year) * 12 + stamps[-1].month - stamps[0].month + 1
    period = "month" if months >= 12 else "day"
    wall = stamps.tz_localize(None) if stamps.tz is not None else stamps  # the bars' own calendar, not UTC's
    keys = wall.to_period("M" if period == "month" else "D")
    last = equity["equity"].groupby(keys).last()
    returns = last / last.shift(1, fill_value=initial_capital) - 1.0
    return returns, period


def period_returns_figure(equity: pd.DataFrame, initial_capital: float) -> go.Figure:
    """A calendar heatmap: years × months, or months × days for shorter (intraday) runs."""
    returns, period = period_returns(equity, initial_capital)
    if period == "month":
        rows = sorted({p.year for p in returns.index})
        columns = [pd.Timestamp(2000, m, 1).strftime("%b") for m in range(1, 13)]
        at = {(p.year, p.month - 1): value for p, value in returns.items()}
        row_labels = [str(year) for year in rows]
    else:
        rows = sorted({(p.year, p.month) for p in returns.index})
        columns = [str(day) for day in range(1, 32)]
        at = {((p.year, p.month), p.day - 1): value for p, value in returns.items()}
        row_labels = [f"{year}-{month:02d}" for year, month in rows]
    grid = np.full((len(rows), len(columns)), np.nan)
    for (row, column), value in at.items():
        grid[rows.index(row), column] = value * 100
    limit = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    # at least 260 px: with a row or two the colour bar would shrink to nothing
    figure = new_figure(title=f"Returns per {period} (%)", height=max(260, 140 + 34 * len(rows)))
    figure.add_trace(go.Heatmap(z=grid, x=columns, y=row_labels, zmid=0, zmin=-limit, zmax=limit,
                                colorscale="RdYlGn", texttemplate="%{z:.2f}", textfont={"size": 10},
                                hovertemplate="%{y} %{x}: %{z:.3f}%<extra></extra>", xgap=2, ygap=2,
                                colorbar={"title": {"text": "%"}}))
    figure.update_yaxes(autorange="reversed", type="category", showgrid=False)
    figure.update_xaxes(type="category", showgrid=False)
    figure.update_layout(hovermode="closest")
    return figure


def trade_returns_figure(trades: pd.DataFrame, bins: int = 50) -> go.Figure:
    """How trade returns are spread: a histogram binned here, losses red and wins green."""
    returns = trades["return_pct"].to_numpy(dtype=np.float64) * 100
    figure = new_figure(title=f"Distribution of trade returns ({len(returns):,} trades)", height=380)
    if len(returns):
        edges = np.histogram_bin_edges(returns, bins=bins)
        centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        for name, mask, color in (("losing trades", returns <= 0, RED), ("winning trades", returns > 0, GREEN)):
            counts, _ = np.histogram(returns[mask], bins=edges)
            figure.add_trace(go.Bar(x=centres, y=counts, width=width, name=name, marker={"color": color},
                                    hovertemplate="%{x:.3f}%: %{y} trades<extra></extra>"))
        figure.add_vline(x=float(np.mean(returns)), line={"color": GREY, "dash": "dash"},
                         annotation_text=f"mean {np.mean(returns):.3f}%")
    else:
        figure.add_annotation(text="no closed trades", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                              font={"size": 16, "color": GREY})
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
    figure.update_layout(barmode="overlay", bargap=0, hovermode="closest")
    figure.update_xaxes(title_text="return per trade %")
    figure.update_yaxes(title_text="trades")
    return figure


def equities_figure(book: pd.DataFrame, capital: Mapping[str, float], names: Sequence[str], *,
                    normalised: bool) -> go.Figure:
    """The `names` systems' equity on one chart, in currency or as a multiple of its initial capital
    (the combined book's, normalised, over every system's capital)."""
    stamps = epoch_ms(book["timestamp"])
    figure = new_figure(title="Equity, normalised (1 = initial capital)" if normalised else "Equity", height=420)
    for number, name in enumerate(names):
        values = book[name].to_numpy(dtype=np.float64) / (capital[name] if normalised else 1.0)
        figure.add_trace(_line(stamps, values, name, line={"color": COLORS[number % len(COLORS)], "width": 1.3}))
    if normalised:
        values = book["combined"].to_numpy(dtype=np.float64) / sum(capital.values())
        figure.add_trace(_line(stamps, values, "combined", line={"color": "#111827", "width": 2, "dash": "dot"}))
    figure.update_xaxes(**time_axis(book["timestamp"]))
    return figure


def drawdowns_figure(book: pd.DataFrame, names: Sequence[str]) -> go.Figure:
    """The `names` systems' drawdowns and the combined book's, in percent."""
    stamps = epoch_ms(book["timestamp"])
    figure = new_figure(title="Drawdowns (%)", height=360)
    for number, name in enumerate([*names, "combined"]):
        color = "#111827" if name == "combined" else COLORS[number % len(COLORS)]
        figure.add_trace(_line(stamps, drawdowns(book[name]) * 100, name, line={"color": color, "width": 1.2}))
    figure.update_xaxes(**time_axis(book["timestamp"]))
    return figure


def book_figure(book: pd.DataFrame) -> go.Figure:
    """The combined book's equity (the sum of the systems') with its drawdown underneath."""
    return equity_figure(pd.DataFrame({"timestamp": book["timestamp"], "equity": book["combined"]}),
                         initial_capital=None).update_layout(title_text="Combined book: equity and drawdown")


def allocation_figure(book: pd.DataFrame, names: Sequence[str]) -> go.Figure:
    """Where the allocation's capital stood over time: each system's equity and the book's reserve, stacked
    (a system below zero stacks as zero)."""
    stamps = epoch_ms(book["timestamp"])
    figure = new_figure(title="Allocation: each system's equity and the book's reserve, stacked", height=420)
    parts = {name: np.maximum(book[name].to_numpy(dtype=np.float64), 0.0) for name in [*names, "reserve"]}
    keep = display_indices(sum(parts.values()))  # one set of points for every layer: stacked areas must align
    for number, (name, values) in enumerate(parts.items()):
        color = GREY if name == "reserve" else COLORS[number % len(COLORS)]
        figure.add_trace(go.Scatter(x=stamps[keep], y=values[keep], name=name, mode="lines", stackgroup="allocation",
                                    line={"width": 0.6, "color": color}))
    figure.update_xaxes(**time_axis(book["timestamp"]))
    return figure


def correlation_figure(matrix: Mapping[str, Mapping[str, float | None]], title: str) -> go.Figure:
    """A correlation matrix as a heatmap from −1 to 1, the coefficients written in the cells."""
    names = list(matrix)
    grid = np.array([[np.nan if matrix[r][c] is None else matrix[r][c] for c in names] for r in names])
    # rows shrink from 60 px as systems are added, so that 50 of them still fit a screen's height
    row = min(60, max(16, 900 // max(1, len(names))))
    figure = new_figure(title=title, height=160 + row * len(names))
    figure.add_trace(go.Heatmap(z=grid, x=names, y=names, zmin=-1, zmax=1, zmid=0, colorscale="RdBu_r",
                                texttemplate="%{z:.3f}" if len(names) <= CELL_TEXT_LIMIT else "",
                                hovertemplate="%{y} × %{x}: %{z:.4f}<extra></extra>", xgap=2, ygap=2))
    figure.update_yaxes(autorange="reversed", type="category", showgrid=False)
    figure.update_xaxes(type="category", showgrid=False)
    figure.update_layout(hovermode="closest")
    return figure
