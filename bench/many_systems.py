"""How `multifolio run` scales with the number of systems: N systems on GOOG daily bars, wall time and peak memory.

Each N is run by a fresh process that calls the `multifolio run` command in-process, so the
clock covers exactly what the command does, from reading the config to the last result file
(the interpreter's start and imports are timed apart). The systems cycle through the SMA
crossover, momentum and mean reversion at many speeds, long and short, with costs, so that
pairs oppose each other and same-bar crossings save something. The bars are backtesting.py's
GOOG.csv (2,148 days), found next to the installed package, as the parity tests use it.
Printed per N: seconds for the whole command, in the combined summary (`write_summary`: figures
across systems and combined_summary.json) and in its page (`render_combined`), and the peak
resident memory of the process.

    python bench/many_systems.py                        # 50, 200, 1000 systems, combined summary only
    python bench/many_systems.py --systems 200 --separate-reports   # each system's files and report too
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import backtesting
import yaml

GOOG_CSV = Path(backtesting.__file__).parent / "test" / "GOOG.csv"
MOMENTUM_THRESHOLDS = (0.001, 0.004, 0.0, 0.003, 0.002)
ENTRY_THRESHOLDS = (1.2, 1.5, 1.8, 1.1, 1.4, 1.7, 2.0)


def system(number: int) -> dict:
    """The `number`th system: kinds in turn, each kind's speed stepping on with every round of them."""
    kind, step = number % 3, number // 3
    if kind == 0:
        fast = 5 + 3 * (step % 14)
        strategy = {"type": "sma_crossover", "parameters": {"fast_period": fast, "slow_period": fast + 45}}
        indicators = [f"SMA_{fast}", f"SMA_{fast + 45}"]
    elif kind == 1:
        strategy = {"type": "momentum", "parameters": {"lookback_period": 6 + 3 * (step % 10),
                                                       "momentum_threshold": MOMENTUM_THRESHOLDS[step % 5]}}
        indicators = ["SMA_20", "RSI"]
    else:
        strategy = {"type": "mean_reversion", "parameters": {
            "lookback_period": 20, "entry_threshold": ENTRY_THRESHOLDS[step % 7], "exit_threshold": 0.5}}
        indicators = ["BB_20", "RSI"]
    return {"name": f"s{number}", "indicators": indicators, "strategy": strategy,
            "portfolio": {"initial_capital": 100_000},
            "risk": {"position_sizers": [{"type": "percentage", "size": 0.5}]},
            "execution": {"slippage_bps": 5, "commission": 0.005}}


def config(systems: int, separate_reports: bool) -> dict:
    return {"workflow": {"type": "multi_portfolio_backtest", "name": f"many{systems}"},
            "data": {"source": "csv", "symbols": ["GOOG"], "file_path": str(GOOG_CSV)},
            "trading_systems": [system(number) for number in range(systems)],
            "reporting": {"separate_reports": separate_reports, "combined_summary": True}}


def timed(function, seconds: dict, key: str):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - started
    return wrapper


def child(config_path: str, output_dir: str) -> None:
    """One run, in this process: `multifolio run CONFIG --quiet`, timed; prints its figures as JSON."""
    started = time.perf_counter()
    from multifolio import cli
    from multifolio.reports import html
    from multifolio.running import run
    imported = time.perf_counter()
    seconds: dict[str, float] = {}
    run.write_summary = timed(run.write_summary, seconds, "write_summary")
    html.render_combined = timed(html.render_combined, seconds, "render_combined")
    clock = time.perf_counter()
    try:
        cli.main(["run", config_path, "--quiet", "--output-dir", output_dir])
    except SystemExit as done:
        if done.code:
            raise
    seconds["command"] = time.perf_counter() - clock
    seconds["imports"] = imported - started
    # ru_maxrss: kilobytes on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    print(json.dumps({**seconds, "peak_mb": peak / 2**20}))


def measure(systems: int, separate_reports: bool, folder: Path) -> dict:
    path = folder / f"many{systems}.yaml"
    path.write_text(yaml.safe_dump(config(systems, separate_reports), sort_keys=False))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(path), str(folder / "out")],
                          check=False, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{systems} systems: exit {done.returncode}\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process"] = time.perf_counter() - started
    summary = json.loads((folder / "out" / f"many{systems}" / "combined_summary.json").read_text())
    opposing = summary["opposing_positions"]
    figures["pairs"] = f"{opposing['pairs_with_any']:,} of {opposing['pairs_total']:,}"
    figures["json_mb"] = (folder / "out" / f"many{systems}" / "combined_summary.json").stat().st_size / 2**20
    figures["html_mb"] = (folder / "out" / f"many{systems}" / "combined_summary.html").stat().st_size / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--separate-reports", action="store_true",
                        help="also write each system's files and report.html (reporting.separate_reports)")
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "OUTPUT_DIR"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(*options.child)
        return
    print(f"GOOG daily, {GOOG_CSV}; separate reports: {options.separate_reports}")
    print(f"{'systems':>7} {'command s':>9} {'summary s':>9} {'page s':>7} {'process s':>9} {'peak MB':>8} "
          f"{'JSON MB':>7} {'HTML MB':>7}  pairs with any")
    for systems in options.systems:
        with tempfile.TemporaryDirectory() as folder:
            f = measure(systems, options.separate_reports, Path(folder))
        print(f"{systems:>7} {f['command']:>9.1f} {f['write_summary']:>9.1f} {f['render_combined']:>7.1f} "
              f"{f['process']:>9.1f} {f['peak_mb']:>8.0f} {f['json_mb']:>7.2f} {f['html_mb']:>7.2f}  {f['pairs']}",
              flush=True)


if __name__ == "__main__":
    main()
