"""One trading system: events, its own signals, strategy runner, risk, execution and portfolio."""
