"""The container shape: one shared data container, a fresh isolated system per YAML entry."""

from __future__ import annotations

from collections import Counter

from multifolio.config.registry import PluginRegistry
from multifolio.running.executors import run_containers
from multifolio.running.run import build_container
from multifolio.testing import FrameSource, ScriptedStrategy, bars_from_closes
from multifolio.trading.events import BarClosed, Direction
from tests.builders import backtest_config, checked, run_in_memory, system_config

PROVIDERS = ("signals", "strategy", "sizers", "limits", "slippage", "commission", "indicators",
             "strategy_runner", "portfolio", "risk", "execution", "order_log", "runner")


def two_systems(registry):
    document = backtest_config(
        system_config("alpha", strategy={"type": "sma_crossover", "parameters": {"fast_period": 3,
                                                                                   "slow_period": 8}}),
        system_config("beta", strategy={"type": "momentum", "parameters": {"lookback_period": 5}}))
    config = checked(document, registry)
    root = build_container(config, registry)
    return root, [root.trading_system(spec=spec) for spec in config.systems]


def test_each_entry_gets_its_own_objects_and_shares_only_the_data(registry):
    root, (alpha, beta) = two_systems(registry)
    for name in PROVIDERS:
        assert getattr(alpha, name)() is not getattr(beta, name)(), name
        assert getattr(alpha, name)() is getattr(alpha, name)(), f"{name} is a Singleton of its system"
    assert alpha.data.market() is beta.data.market() is root.data.market()
    assert alpha.data.features() is beta.data.features()
    assert alpha.portfolio().namespace == "alpha" and beta.portfolio().namespace == "beta"


def test_a_handler_of_one_system_never_hears_another_systems_events(registry):
    root, (alpha, beta) = two_systems(registry)
    heard: dict[str, list] = {"alpha": [], "beta": []}
    for name, system in (("alpha", alpha), ("beta", beta)):
        for signal in system.signals().all().values():
            signal.connect(lambda event, name=name: heard[name].append(event), weak=False)
    from multifolio.running.engine import Engine
    runners = [alpha.runner(), beta.runner()]
    Engine(market=root.data.market(), systems=runners).run()
    for name in ("alpha", "beta"):
        assert heard[name], f"{name} heard nothing"
        assert {event.namespace for event in heard[name]} == {name}
    kinds = {type(event).__name__ for event in heard["alpha"] + heard["beta"]}
    assert {"BarClosed", "SignalGenerated", "OrderSubmitted", "OrderFilled",
            "DataEnded"} <= kinds
    for system in (alpha, beta):
        system.shutdown_resources()


def test_signals_are_per_instance_never_shared_between_systems(registry):
    _, (alpha, beta) = two_systems(registry)
    for name, signal in alpha.signals().all().items():
        assert signal is not getattr(beta.signals(), name)


def test_shutdown_disconnects_the_components_from_the_bus(registry):
    _, (alpha, _) = two_systems(registry)
    signals = alpha.runner().signals
    assert signals.bar_closed.receivers
    alpha.shutdown_resources()
    assert not any(signal.receivers for signal in signals.all().values())


def test_a_fake_strategy_drives_a_real_portfolio_to_known_cash_and_positions():
    """Closes 10, 11, 12, 13, 14, 15 with opens at the previous close. LONG after bar 0
    buys 10 at bar 1's open (10): cash 10000 − 100 = 9900. FLAT after bar 2 sells 10 at
    bar 3's open (12): cash 10020. SHORT after bar 3 sells 10 at bar 4's open (13):
    cash 10150, position −10, equity 10150 − 10 × 15 = 10000 at the end."""
    fake = ScriptedStrategy({0: Direction.LONG, 2: Direction.FLAT, 3: Direction.SHORT})
    document = backtest_config(system_config("alpha"), system_config("beta"))
    alpha, beta = run_in_memory(document, source=FrameSource(bars_from_closes(range(10, 16))),
                                strategies={"alpha": fake})
    assert alpha.equity["cash"].tolist() == [10_000, 9_900, 9_900, 10_020, 10_150, 10_150]
    assert alpha.open_positions == {"SPY": -10.0}
    assert alpha.equity["equity"].iloc[-1] == 10_000
    assert alpha.trades["net_pnl"].tolist() == [20.0]
    # beta ran the real buy-and-hold on the same bars and was not touched by alpha's fake
    assert beta.open_positions == {"SPY": 10.0}
    assert beta.trades.empty
    assert [type(bar) for bar in fake.seen] == [BarClosed] * 6


def test_two_systems_asking_for_rsi_cause_one_computation(registry):
    document = backtest_config(system_config("alpha", indicators=["RSI", "SMA_5"]),
                               system_config("beta", indicators=["RSI_14"]),
                               system_config("gamma", indicators=[{"type": "RSI", "period": 14}]))
    config = checked(document, registry)
    root = build_container(config, registry)
    systems = [root.trading_system(spec=spec) for spec in config.systems]
    views = [system.indicators() for system in systems]
    assert root.data.features().computations == 2  # RSI_14 once, SMA_5 once
    rsi = [view.arrays("SPY")["RSI_14"] for view in views]
    assert rsi[0] is rsi[1] is rsi[2]
    assert not rsi[0].flags.writeable


def test_the_data_is_loaded_once_for_all_systems():
    source = FrameSource(bars_from_closes(range(10, 30)))
    run_in_memory(backtest_config(system_config("a"), system_config("b"), system_config("c")),
                  source=source)
    assert source.loads == 1


class CountingRegistry(PluginRegistry):
    """The real registry, counting what it builds by kind and name."""

    def __init__(self) -> None:
        super().__init__()
        self.built: Counter = Counter()

    def create(self, kind, name, parameters, path=""):
        self.built[kind.label, name] += 1
        return super().create(kind, name, parameters, path)


def test_a_run_builds_each_plugin_once_per_system_and_each_indicator_once():
    document = backtest_config(
        system_config("alpha", indicators=["SMA_10", "RSI"], limits=[{"type": "max_position_value", "value": 1e4}],
                      strategy={"type": "sma_crossover", "parameters": {"fast_period": 10, "slow_period": 30}}),
        system_config("beta", indicators=["RSI_14"], sizers=[{"type": "fixed", "size": 5},
                                                             {"type": "percentage", "size": 0.5}]),
        data={"source": "synthetic", "symbols": ["SPY", "QQQ"], "bars": 300, "seed": 3})
    config = checked(document)  # validation builds with a registry of its own
    registry = CountingRegistry()
    root = build_container(config, registry)
    run_containers(root, [root.trading_system(spec=spec) for spec in config.systems])
    assert registry.built == Counter({
        ("data source", "synthetic"): 1,
        ("strategy", "sma_crossover"): 1, ("strategy", "buy_and_hold"): 1,
        ("position sizer", "fixed"): 2, ("position sizer", "percentage"): 1,
        ("risk limit", "max_position_value"): 1,
        ("slippage model", "bps"): 2, ("commission model", "per_share"): 2,
        # each key once in the shared cache, whatever the symbols: SMA_10, SMA_30, RSI_14
        ("indicator", "SMA"): 2, ("indicator", "RSI"): 1})
    assert root.data.features().computations == 6  # each (symbol, key) computed once


def test_ending_a_chunk_of_systems_leaves_the_shared_data_and_indicator_cache_to_the_next_chunk():
    config = checked(backtest_config(system_config("alpha", indicators=["SMA_10"]),
                                     system_config("beta", indicators=["SMA_10", "RSI"])))
    root = build_container(config, PluginRegistry())
    market, cache = root.data.market(), root.data.features()
    first = run_containers(root, [root.trading_system(spec=config.systems[0])])
    second = run_containers(root, [root.trading_system(spec=config.systems[1])])
    assert root.data.market() is market and root.data.features() is cache
    assert cache.computations == 2  # SMA_10 once for both chunks, then RSI_14
    assert [result.status for result in first + second] == ["completed", "completed"]
