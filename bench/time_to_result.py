"""Time to result: what a user waits for, from the command to the last file written, against peers.

The workload is bench/peers.py's: synthetic 1-minute bars (seed 1) read from one Parquet
file, SMA(10, 30) crossover on the close, 100 shares, next-open fills, no costs, 1,000,000
capital. Each engine runs as a fresh process, timed by this script from spawn to exit:
interpreter start, imports, reading the Parquet, the run and every default output.
- multifolio: the command itself, `python -m multifolio run CONFIG --quiet --output-dir DIR`,
  which writes each system's CSVs, Parquet and HTML report and the combined summary;
- backtesting.py: `Backtest.run()` (its stats, printed) and `Backtest.plot()` (its HTML page);
- backtrader: `cerebro.run()`; its final value printed (no observers or analyzers, which only slow it);
- vectorbt: stepping only (`Portfolio.from_signals` and its trades), no file; its stepping and
  numba's warm-up (compiling, or loading numba's cache) are also shown apart.
Peers write their trades to a small Parquet file at the end (a few ms) so that they can be
checked against multifolio's s0/trades.csv before any figure is printed. The one difference
let through, and printed, is backtesting.py's rule for exact ties of the two SMAs (its
`crossover` needs a strict change, multifolio and backtrader keep the last sign), and only
when each list equals a direct computation of the crossover under its own rule; any other
difference stops the script. Runs interleave (every engine once per round); printed are
medians and the min–max; "÷ multifolio" is an engine's median time over multifolio's. Peak
RSS is the child's own maximum resident set in MiB (ru_maxrss of `os.wait4` on that child
alone: the kernel's VmHWM at its exit). Scaling: N copies of the system in one config.
Every engine runs with Python's bytecode cache on, as on a user's machine: pip compiled the
peers when it installed them, and this script compiles multifolio's own modules first (an
environment with PYTHONDONTWRITEBYTECODE set, as this project's sandbox is, would otherwise
have multifolio compile its sources again in every timed run, about 0.2 s).

    python bench/time_to_result.py                 # 1M bars, 3 rounds, 1/8/32/128 systems, every peer
    python bench/time_to_result.py --bars 100000 --repeats 1 --systems 1 8 --peers backtesting backtrader
    python bench/time_to_result.py --systems 1 --peers backtesting --markdown time_to_result.md

Peers are skipped when not installed (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd

from bench.peers import (
    CASH,
    FAST,
    PEERS,
    SIZE,
    SLOW,
    _trade_rows,
    check_trades,
    data_file,
    installed,
    peer_frame,
)

LABELS = {"multifolio": "multifolio", "backtesting": "backtesting.py", "backtrader": "backtrader",
          "vectorbt": "vectorbt"}
OUTPUTS = {"multifolio": "per-system CSVs, Parquet, HTML reports, combined summary",
           "backtesting": "stats printed, HTML plot", "backtrader": "final value printed",
           "vectorbt": "none (stepping only)"}
MARKDOWN_HEADER = "| engine | whole process s | min–max s | ÷ multifolio | peak RSS MB | trades | output |"
TRADE_FILE = "trades.parquet"  # what a peer child leaves for the check
HEADLINE = "backtesting"  # the goal: backtesting.py's time ÷ multifolio's ≥ 2.5


# ------------------------------------------------------------------ peer children (one engine per process)
# The strategies are tests/parity's with TA-Lib's SMAs, one module per peer: each child pays for its own imports.

def backtesting_child(path: Path, out: Path) -> pd.DataFrame:
    from tests.parity.backtesting_peer import backtesting_backtest, backtesting_trades

    backtest = backtesting_backtest(peer_frame(path))
    stats = backtest.run(talib=True)
    print(stats)
    backtest.plot(filename=str(out / "SmaCross.html"), open_browser=False)
    return backtesting_trades(stats)


def backtrader_child(path: Path, out: Path) -> pd.DataFrame:
    from tests.parity.backtrader_peer import run_backtrader

    trades, final_value = run_backtrader(peer_frame(path), talib=True)
    print(f"Final portfolio value: {final_value:.2f}")
    return trades


def vectorbt_child(path: Path, out: Path) -> pd.DataFrame:
    from bench.peers import run_vectorbt

    started = time.perf_counter()
    outcome = run_vectorbt(path)
    # outside load and stepping: numba's warm-up on 2,000 bars and making the trades readable
    warm_up = time.perf_counter() - started - outcome["load_s"] - outcome["run_s"]
    (out / "vectorbt.json").write_text(json.dumps({"stepping_s": outcome["run_s"], "warm_up_s": warm_up}))
    return pd.DataFrame(outcome["trades"], columns=["entry_time", "exit_time", "entry_price", "exit_price"])


def child(engine: str, path: Path, out: Path) -> None:
    run = {"backtesting": backtesting_child, "backtrader": backtrader_child, "vectorbt": vectorbt_child}[engine]
    run(path, out).to_parquet(out / TRADE_FILE, index=False)


# ------------------------------------------------------------------ one timed process

def spawn(command: list[str], work: Path, env: dict | None = None) -> tuple[float, float]:
    """Wall seconds from spawn to exit and the child's peak RSS in MB; raises on a non-zero exit."""
    with open(work / "stdout.txt", "wb") as stdout, open(work / "stderr.txt", "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=work, env=env, stdout=stdout, stderr=stderr)
        # wait4 on this pid gives this child's own rusage: ru_maxrss is its VmHWM at exit, in KiB
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = (work / "stderr.txt").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}:\n{tail}")
    return seconds, usage.ru_maxrss / 1024


def config_document(path: Path, systems: int) -> dict:
    """N copies of the benchmark system, named s0 … s{N-1}, on the Parquet bars."""
    system = {"portfolio": {"initial_capital": CASH},
              "strategy": {"type": "sma_crossover", "parameters": {"fast_period": FAST, "slow_period": SLOW}},
              "risk": {"position_sizers": [{"type": "fixed", "size": SIZE}]}}
    return {"data": {"source": "parquet", "symbols": ["SPY"], "file_path": str(path)},
            "trading_systems": [{"name": f"s{number}", **system} for number in range(systems)]}


def write_config(path: Path, systems: int, work: Path) -> Path:
    import yaml

    config = work / f"systems{systems}.yaml"
    config.write_text(yaml.safe_dump(config_document(path, systems), sort_keys=False))
    return config


def timed_environment(**extra: str) -> dict[str, str]:
    """The environment of every process this script runs: its own, with Python's bytecode cache on."""
    return {**{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}, **extra}


def compile_multifolio() -> None:
    """multifolio's modules compiled to the bytecode cache, as its first run would compile those it imports."""
    code = ("import compileall, importlib\n"
            "for name in ('multifolio', 'multifolio.containers', 'multifolio.plugins', 'multifolio.reports'):\n"
            "    for folder in importlib.import_module(name).__path__:\n"
            "        compileall.compile_dir(folder, quiet=1)\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=timed_environment())


def validate(path: Path, systems: int) -> None:
    """The config checked before any timed run."""
    with tempfile.TemporaryDirectory(prefix="time_to_result_") as folder:
        config = write_config(path, systems, Path(folder))
        done = subprocess.run([sys.executable, "-m", "multifolio", "validate", str(config)], capture_output=True,
                              text=True, check=False, env=timed_environment())
    if done.returncode != 0:
        raise SystemExit(f"multifolio validate refused the {systems}-system config:\n{done.stdout}{done.stderr}")


def measure_multifolio(path: Path, systems: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="time_to_result_") as folder:
        work = Path(folder)
        config = write_config(path, systems, work)
        seconds, peak = spawn([sys.executable, "-m", "multifolio", "run", str(config), "--quiet",
                               "--output-dir", str(work / "out")], work, env=timed_environment())
        [first] = (work / "out").glob("*/s0/trades.csv")
        for number in range(1, systems):
            other = first.parents[1] / f"s{number}" / "trades.csv"
            if not filecmp.cmp(first, other, shallow=False):
                raise SystemExit(f"{other} differs from {first}: identical systems must trade identically")
        trades = pd.read_csv(first)
    return {"seconds": seconds, "peak_mb": peak, "trades": _trade_rows(
        trades["entry_time"], trades["exit_time"], trades["entry_price"], trades["exit_price"])}


def measure_peer(peer: str, path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="time_to_result_") as folder:
        work = Path(folder)
        seconds, peak = spawn([sys.executable, str(Path(__file__).resolve()), "--child", peer, "--data", str(path)],
                              work, env=timed_environment(PYTHONPATH=str(REPO)))
        trades = pd.read_parquet(work / TRADE_FILE)
        extra = json.loads((work / "vectorbt.json").read_text()) if peer == "vectorbt" else {}
    return {"seconds": seconds, "peak_mb": peak, **extra, "trades": _trade_rows(
        trades["entry_time"], trades["exit_time"], trades["entry_price"], trades["exit_price"])}


# ------------------------------------------------------------------ the tables

def summary(runs: list[dict], key: str = "seconds") -> tuple[float, float, float]:
    values = [run[key] for run in runs]
    return statistics.median(values), min(values), max(values)


@dataclass
class Tables:
    """What one benchmark found, ready to print as text or markdown."""

    title: str
    engines: list[dict]  # one a row: median whole-process seconds, min–max, ratio to multifolio's, RSS
    scaling: list[dict]  # multifolio with N systems, fewest first
    absent: list[str]  # peers asked for but not installed
    notes: list[str]  # trade lists that differ from multifolio's in an explained way
    headline: str

    def slope(self) -> tuple[float, float]:
        """Seconds and MB per added system, between the fewest and the most systems measured."""
        low, high = self.scaling[0], self.scaling[-1]
        added = high["systems"] - low["systems"]
        return (high["median"] - low["median"]) / added, (high["peak_mb"] - low["peak_mb"]) / added

    def slope_line(self) -> str:
        seconds, megabytes = self.slope()
        return (f"each added system: {seconds:+.3f} s, {megabytes:+.1f} MB (from {self.scaling[0]['systems']} to "
                f"{self.scaling[-1]['systems']} systems)")

    def text(self) -> str:
        header = (f"{'engine':<24} {'whole s':>8} {'min–max':>13} {'÷ multifolio':>13} {'peak MB':>8} "
                  f"{'trades':>7}  output")
        lines = [self.title, "", header, "-" * len(header)]
        lines += [f"{row['engine']:<24} {row['median']:>8.2f} {row['low']:>6.2f}–{row['high']:<6.2f} "
                  f"{row['ratio']:>13.2f} {row['peak_mb']:>8.0f} {row['trades']:>7,}  {row['output']}"
                  for row in self.engines]
        lines += [f"{LABELS[peer]:<24} (not installed)" for peer in self.absent]
        lines += [f"note: {note}" for note in self.notes]
        if len(self.scaling) > 1:
            header = f"{'multifolio systems':>18} {'whole s':>8} {'min–max':>13} {'peak MB':>8}"
            lines += ["", header, "-" * len(header)]
            lines += [f"{row['systems']:>18} {row['median']:>8.2f} {row['low']:>6.2f}–{row['high']:<6.2f} "
                      f"{row['peak_mb']:>8.0f}" for row in self.scaling]
            lines.append(self.slope_line())
        if self.headline:
            lines += ["", self.headline]
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"{self.title}.", "", MARKDOWN_HEADER, "|---|---:|---:|---:|---:|---:|---|"]
        lines += [f"| {row['engine']} | {row['median']:.2f} | {row['low']:.2f}–{row['high']:.2f} | "
                  f"{row['ratio']:.2f} | {row['peak_mb']:,.0f} | {row['trades']:,} | {row['output']} |"
                  for row in self.engines]
        lines += [f"| {LABELS[peer]} | not installed | | | | | |" for peer in self.absent]
        lines += [f"\nNote: {note}." for note in self.notes]
        if len(self.scaling) > 1:
            lines += ["", "| multifolio systems | whole process s | min–max s | peak RSS MB |",
                      "|---:|---:|---:|---:|"]
            lines += [f"| {row['systems']} | {row['median']:.2f} | {row['low']:.2f}–{row['high']:.2f} | "
                      f"{row['peak_mb']:,.0f} |" for row in self.scaling]
            lines += ["", f"E{self.slope_line()[1:]}."]
        if self.headline:
            lines += ["", f"**{self.headline}.**"]
        return "\n".join(lines) + "\n"


def tables(runs: dict[tuple[str, int], list[dict]], notes: dict[str, str], absent: list[str], bars: int,
           repeats: int) -> Tables:
    ours = summary(runs["multifolio", 1])[0]
    engines, scaling = [], []
    for (engine, systems), measured in runs.items():
        median, low, high = summary(measured)
        row = {"median": median, "low": low, "high": high, "peak_mb": summary(measured, "peak_mb")[0]}
        if systems > 1 or engine == "multifolio":
            scaling.append({"systems": systems, **row})
        if systems > 1:
            continue
        output = OUTPUTS[engine]
        if engine == "vectorbt":
            output += (f"; of the whole: stepping {summary(measured, 'stepping_s')[0]:.2f} s, numba warm-up "
                       f"{summary(measured, 'warm_up_s')[0]:.2f} s")
        engines.append({"engine": f"{LABELS[engine]} {version(engine)}", "ratio": median / ours,
                        "trades": len(measured[0]["trades"]), "output": output, **row})
    title = (f"Time to result, {bars:,} bars: whole process from spawn to exit, median of {repeats} interleaved "
             f"run{'s' if repeats > 1 else ''} ({os.cpu_count()} cores, Python {sys.version.split()[0]}); "
             f"trades checked against multifolio's")
    headline = ""
    if (HEADLINE, 1) in runs:
        ratio = summary(runs[HEADLINE, 1])[0] / ours
        per_round = [theirs["seconds"] / mine["seconds"] for theirs, mine in zip(runs[HEADLINE, 1],
                                                                                 runs["multifolio", 1])]
        spread = f"; per round {min(per_round):.2f}–{max(per_round):.2f}" if repeats > 1 else ""
        headline = (f"backtesting.py ÷ multifolio, whole process: {ratio:.2f}× (medians{spread}; "
                    f"goal ≥ 2.5: {'met' if ratio >= 2.5 else 'not met'})")
    return Tables(title=title, engines=engines, scaling=sorted(scaling, key=lambda row: row["systems"]),
                  absent=absent, notes=[f"{name}: {note}" for name, note in notes.items() if note],
                  headline=headline)


# ------------------------------------------------------------------ main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="rounds; every engine runs once per round")
    parser.add_argument("--systems", type=int, nargs="+", default=[1, 8, 32, 128],
                        help="multifolio's system counts for the scaling table (1 alone: no scaling)")
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=PEERS)
    parser.add_argument("--markdown", type=Path, help="also write the tables as markdown here")
    parser.add_argument("--child", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, arguments.data, Path.cwd())
        return
    if arguments.repeats < 1 or min(arguments.systems) < 1:
        parser.error("--repeats and --systems must be ≥ 1")

    path = data_file(arguments.bars)
    counts = sorted(set(arguments.systems) | {1})
    peers = [peer for peer in arguments.peers if installed(peer)]
    compile_multifolio()
    for systems in counts:
        validate(path, systems)
    engines = [("multifolio", 1), *((peer, 1) for peer in peers), *(("multifolio", n) for n in counts if n > 1)]
    runs: dict[tuple[str, int], list[dict]] = {engine: [] for engine in engines}
    reference, notes = None, {}
    for round_number in range(1, arguments.repeats + 1):
        for engine, systems in engines:
            measured = measure_multifolio(path, systems) if engine == "multifolio" else measure_peer(engine, path)
            name = LABELS[engine] + (f", {systems} systems" if systems > 1 else "")
            reference = measured["trades"] if reference is None else reference
            notes[name] = check_trades(name, measured["trades"], reference, path, arguments.bars,
                                       strict_ties=engine == "backtesting")
            runs[engine, systems].append(measured)
            print(f"round {round_number}/{arguments.repeats}: {name:<28} {measured['seconds']:>8.2f} s "
                  f"{measured['peak_mb']:>7.0f} MB", file=sys.stderr, flush=True)

    found = tables(runs, notes, [peer for peer in arguments.peers if peer not in peers], arguments.bars,
                   arguments.repeats)
    print(found.text())
    if arguments.markdown:
        arguments.markdown.write_text(found.markdown())
        print(f"\nmarkdown: {arguments.markdown}")


if __name__ == "__main__":
    main()
