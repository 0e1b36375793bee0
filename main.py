"""The seed's entry point: `python main.py --config configs/dual_portfolio_backtest.yaml`."""

import argparse

from multifolio.cli import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run a multifolio backtest (same as `multifolio run`).")
    parser.add_argument("--config", required=True, help="path to the YAML config")
    parser.add_argument("--output-dir", help="folder for results (overrides reporting.output_dir)")
    arguments = parser.parse_args()
    main(["run", arguments.config] + (["--output-dir", arguments.output_dir] if arguments.output_dir else []))
