"""The peers' common workload: SMA(10, 30) crossover, 100 shares, 1,000,000 cash; round trips as compared."""

FAST, SLOW, SIZE, CASH = 10, 30, 100, 1_000_000
TRADE_COLUMNS = ["entry_time", "exit_time", "entry_price", "exit_price", "quantity"]
