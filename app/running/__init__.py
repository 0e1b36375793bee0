"""Running a backtest: the engine loop, executors, the run itself and its manifest.

The composition root: with `multifolio.containers` the only part of the core that imports
dependency-injector and `multifolio.reports`.
"""
