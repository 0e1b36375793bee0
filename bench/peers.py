"""multifolio against backtrader, backtesting.py and vectorbt on the same bars and strategy.

The workload (issue 6): synthetic 1-minute bars (seed 1), SMA(10, 30) crossover on the
close, buy 100 shares on a cross above, sell all on a cross below, next-open fills, no
costs, 1,000,000 capital. Data loading is timed apart from the run. Every engine runs in
its own process, so its peak RSS is its own. Trade lists are checked against
multifolio's before any figure is printed.

    python bench/peers.py                          # 100k and 1M bars, 1/2/8/32 systems
    python bench/peers.py --sizes 100000 --systems 1 2

Peers are skipped when not installed (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "bench" / ".data"
FAST, SLOW, SIZE, CASH, SEED = 10, 30, 100, 1_000_000, 1
PEERS = ("backtesting", "backtrader", "vectorbt")


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def data_file(bars: int) -> Path:
    """The benchmark bars as Parquet (made once by multifolio's synthetic source)."""
    path = DATA_DIR / f"synthetic_{bars}_seed{SEED}.parquet"
    if not path.exists():
        from multifolio.config.registry import PluginKind, PluginRegistry
        source = PluginRegistry().create(PluginKind.DATA_SOURCE, "synthetic",
                                         {"symbols": ["SPY"], "bars": bars, "seed": SEED})
        path.parent.mkdir(parents=True, exist_ok=True)
        source.load().drop(columns="symbol").to_parquet(path, index=False)
    return path


def peer_frame(path: Path) -> pd.DataFrame:
    """The bars as peers want them: capitalised columns, a DatetimeIndex."""
    frame = pd.read_parquet(path).set_index("timestamp")
    return frame.rename(columns=str.capitalize)


# ------------------------------------------------------------------ one engine per process

def run_multifolio(path: Path, systems: int) -> dict:
    sys.path.insert(0, str(REPO))
    from multifolio.config.registry import PluginRegistry
    from multifolio.running.engine import Engine
    from multifolio.running.run import build_container, validate_document

    registry = PluginRegistry()
    entry = {"portfolio": {"initial_capital": CASH},
             "strategy": {"type": "sma_crossover", "parameters": {"fast_period": FAST, "slow_period": SLOW}},
             "risk": {"position_sizers": [{"type": "fixed", "size": SIZE}]}}
    config = validate_document({"data": {"source": "parquet", "symbols": ["SPY"], "file_path": str(path)},
                                "trading_systems": [{"name": f"s{i}", **entry} for i in range(systems)]}, registry)
    root = build_container(config, registry)
    started = time.perf_counter()
    market = root.data.market()
    loaded = time.perf_counter()
    containers = [root.trading_system(spec=spec) for spec in config.systems]
    results = Engine(market=market, systems=[c.runner() for c in containers]).run()
    finished = time.perf_counter()
    trades = results[0].trades
    for other in results[1:]:
        assert other.trades.equals(trades), "identical systems must trade identically"
    return {"load_s": loaded - started, "run_s": finished - loaded, "trades": _trade_rows(
        trades["entry_time"], trades["exit_time"], trades["entry_price"], trades["exit_price"]),
        "indicator_computations": root.data.features().computations}


def run_event_driven_peer(path: Path, peer: str) -> dict:
    """backtesting.py or backtrader, with the strategy as tests/parity/peers.py writes it for them."""
    sys.path.insert(0, str(REPO))
    from tests.parity import peers

    run = {"backtesting": peers.run_backtesting, "backtrader": peers.run_backtrader}[peer]
    started = time.perf_counter()
    data = peer_frame(path)
    loaded = time.perf_counter()
    trades, _ = run(data, talib=True)
    finished = time.perf_counter()
    return {"load_s": loaded - started, "run_s": finished - loaded, "trades": _trade_rows(
        trades["entry_time"], trades["exit_time"], trades["entry_price"], trades["exit_price"])}


def run_vectorbt(path: Path) -> dict:
    import talib
    import vectorbt as vbt

    def trades_of(data: pd.DataFrame):
        close = data["Close"]
        # TA-Lib's SMAs, as the other engines use: on a cent grid, rolling means can tie exactly
        fast = pd.Series(talib.SMA(close.to_numpy(), FAST), index=close.index)
        slow = pd.Series(talib.SMA(close.to_numpy(), SLOW), index=close.index)
        # signals at a bar's close, executed at the next bar's open: shift the signals by one bar
        entries = fast.vbt.crossed_above(slow).shift(1, fill_value=False)
        exits = fast.vbt.crossed_below(slow).shift(1, fill_value=False)
        return vbt.Portfolio.from_signals(close, entries, exits, price=data["Open"], size=SIZE, init_cash=CASH,
                                          accumulate=False)

    started = time.perf_counter()
    data = peer_frame(path)
    loaded = time.perf_counter()
    trades_of(data.iloc[:2_000]).trades.records_readable  # numba compiles on first calls: not timed
    warmed = time.perf_counter()
    portfolio = trades_of(data)
    portfolio.trades.records  # the trades exist (a numba pass); making them readable is not timed
    finished = time.perf_counter()
    records = portfolio.trades.records_readable
    closed = records[records["Status"] == "Closed"]
    return {"load_s": loaded - started, "run_s": finished - warmed, "trades": _trade_rows(
        closed["Entry Timestamp"], closed["Exit Timestamp"], closed["Avg Entry Price"], closed["Avg Exit Price"])}


def _trade_rows(entry_time, exit_time, entry_price, exit_price) -> list[list]:
    return [[str(pd.Timestamp(a)), str(pd.Timestamp(b)), round(float(c), 9), round(float(d), 9)]
            for a, b, c, d in zip(entry_time, exit_time, entry_price, exit_price)]


def child(engine: str, bars: int, systems: int) -> None:
    path = data_file(bars)
    runner = {"multifolio": lambda: run_multifolio(path, systems),
              "backtesting": lambda: run_event_driven_peer(path, "backtesting"),
              "backtrader": lambda: run_event_driven_peer(path, "backtrader"),
              "vectorbt": lambda: run_vectorbt(path)}[engine]
    outcome = runner()
    outcome["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(outcome))


@functools.cache  # the check may ask twice per engine and round
def crossover_trades(path: Path, ties: str) -> list[list]:
    """The benchmark's round trips computed directly from TA-Lib's SMAs, with one rule for exact ties
    (fast == slow): "keep" the last sign (multifolio, backtrader) or "strict", a cross only from one bar
    below to the next bar above (backtesting.py's `crossover`). Buys 100 on every cross up, closes all on
    a cross down, fills at the next bar's open; what is open at the end is not a round trip."""
    import numpy as np
    import talib

    bars = pd.read_parquet(path)
    sign = np.sign(talib.SMA(bars["close"].to_numpy(), FAST) - talib.SMA(bars["close"].to_numpy(), SLOW))
    if ties == "keep":
        before = pd.Series(np.where(sign == 0, np.nan, sign)).ffill().shift(1).to_numpy()
    else:
        before = np.concatenate([[np.nan], sign[:-1]])
    up, down = (before < 0) & (sign > 0), (before > 0) & (sign < 0)
    lots, entries, exits = [], [], []
    for bar in np.flatnonzero(up | down):
        if bar + 1 == len(bars):
            break
        if up[bar]:
            lots.append(bar + 1)
        else:
            entries += lots
            exits += [bar + 1] * len(lots)
            lots = []
    stamps, opens = bars["timestamp"].to_numpy(), bars["open"].to_numpy()
    return _trade_rows(stamps[entries], stamps[exits], opens[entries], opens[exits])


def check_trades(name: str, theirs: list, reference: list, path: Path, bars: int, strict_ties: bool = False) -> str:
    """'' when an engine's trades equal multifolio's; a note when they differ only by the rule for exact SMA
    ties of an engine whose crossover needs a strict change (`strict_ties`: backtesting.py), both lists equal
    to `crossover_trades` under their own rule; otherwise stops."""
    if theirs == reference:
        return ""
    if (strict_ties and sorted(theirs) == sorted(crossover_trades(path, "strict"))
            and reference == crossover_trades(path, "keep")):
        return (f"{len(theirs):,} trades, not {len(reference):,}: at exact ties of the SMAs backtesting.py's "
                f"crossover needs a strict change; both lists equal a direct computation under their rule")
    first = next(((a, b) for a, b in zip(theirs, reference) if a != b), "one list is a prefix of the other")
    raise SystemExit(f"{name} made different trades from multifolio's on {bars:,} bars: {len(theirs):,} vs "
                     f"{len(reference):,}; first difference (theirs, multifolio's): {first}")


# ------------------------------------------------------------------ the table

def measure(engine: str, bars: int, systems: int = 1) -> dict | None:
    done = subprocess.run([sys.executable, __file__, "--child", engine, "--bars", str(bars), "--n", str(systems)],
                          capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    if done.returncode != 0:
        if "ModuleNotFoundError" in done.stderr:
            return None
        raise RuntimeError(f"{engine} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def installed(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--systems", type=int, nargs="+", default=[1, 2, 8, 32])
    parser.add_argument("--peers", nargs="*", default=list(PEERS))
    parser.add_argument("--child")
    parser.add_argument("--bars", type=int)
    parser.add_argument("--n", type=int, default=1)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, arguments.bars, arguments.n)
        return

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    header = (f"{'bars':>9} {'engine':<24} {'bars/s/system':>14} {'multifolio ×':>13} {'cost ×':>7} {'run s':>7} "
              f"{'load s':>7} {'peak MB':>8} {'trades':>7}")
    for bars in arguments.sizes:
        data_file(bars)
        print(f"\n{header}\n{'-' * len(header)}")
        ours = measure("multifolio", bars)
        reference = ours["trades"]
        rows = [("multifolio", ours, 1)]
        for peer in arguments.peers:
            if not installed(peer):
                print(f"{bars:>9} {peer:<22} (not installed)")
                continue
            theirs = measure(peer, bars)
            note = check_trades(peer, theirs["trades"], reference, data_file(bars), bars,
                                strict_ties=peer == "backtesting")
            if note:
                print(f"{bars:>9} {peer:<22} {note}")
            rows.append((peer, theirs, 1))
        for systems in arguments.systems:
            if systems > 1:
                many = measure("multifolio", bars, systems)
                assert many["trades"] == reference and many["indicator_computations"] == 2
                rows.append((f"multifolio, {systems} systems", many, systems))
        for name, row, systems in rows:
            speed = bars * systems / row["run_s"]
            faster = f"{row['run_s'] / ours['run_s']:.2f}" if name in PEERS else ""
            cost = f"{row['run_s'] / ours['run_s']:.2f}" if systems > 1 else ""
            print(f"{bars:>9} {name:<24} {speed:>14,.0f} {faster:>13} {cost:>7} {row['run_s']:>7.2f} "
                  f"{row['load_s']:>7.2f} {row['peak_rss_mb']:>8.0f} {len(row['trades']):>7}")
    print("\nbars/s/system: bars × systems per second of run time (load excluded). 'multifolio ×': how many "
          "times faster one multifolio system ran than that peer. 'cost ×': run time of N systems over one "
          "system's. Every peer's trades equal multifolio's but for backtesting.py's at exact ties (noted above); "
          "N identical systems compute each SMA once.")


if __name__ == "__main__":
    main()
