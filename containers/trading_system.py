"""One trading system's container: fresh components joined by its own signals (one per YAML entry)."""

from dependency_injector import containers, providers

from multifolio.trading.execution import ExecutionSimulator
from multifolio.data.indicators import SystemIndicators
from multifolio.trading.plugins import build_plugin, build_plugins
from multifolio.trading.portfolio import Portfolio
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.trading.risk import RiskManager
from multifolio.trading.signals import SystemSignals
from multifolio.trading.strategy import StrategyRunner
from multifolio.trading.system import OrderLog, SystemRunner, connect_bus


class TradingSystem(containers.DeclarativeContainer):
    """One per YAML entry: its own signals, strategy, risk, execution and portfolio.

    Every provider is a Singleton of *this* container, so two systems never share
    an object; the data comes in through `data` and is the same for all.
    """

    config = providers.Configuration(strict=True)  # TradingSystemConfig.settings()
    data = providers.DependenciesContainer()  # the shared DataContainer
    plugins = providers.Dependency(instance_of=PluginRegistry)

    signals = providers.Singleton(SystemSignals, namespace=config.portfolio.namespace)

    strategy = providers.Singleton(build_plugin, plugins, PluginKind.STRATEGY, config.strategy)
    sizers = providers.Singleton(build_plugins, plugins, PluginKind.SIZER, config.risk.position_sizers)
    limits = providers.Singleton(build_plugins, plugins, PluginKind.RISK_LIMIT, config.risk.limits)
    slippage = providers.Singleton(build_plugin, plugins, PluginKind.SLIPPAGE, config.execution.slippage)
    commission = providers.Singleton(build_plugin, plugins, PluginKind.COMMISSION, config.execution.commission)

    indicators = providers.Singleton(SystemIndicators, cache=data.features, plugins=plugins, market=data.market,
                                     specs=config.indicators, strategy=strategy)
    strategy_runner = providers.Singleton(StrategyRunner, strategy=strategy, signals=signals,
                                          indicators=indicators, market=data.market)
    portfolio = providers.Singleton(Portfolio, signals=signals, market=data.market,
                                    namespace=config.portfolio.namespace,
                                    initial_capital=config.portfolio.initial_capital)
    risk = providers.Singleton(RiskManager, signals=signals, portfolio=portfolio, sizers=sizers, limits=limits,
                               lot_size=config.risk.lot_size)
    execution = providers.Singleton(ExecutionSimulator, signals=signals, market=data.market, portfolio=portfolio,
                                    slippage=slippage, commission=commission, fill_at=config.execution.fill_at,
                                    close_at_end=config.portfolio.close_at_end)
    order_log = providers.Singleton(OrderLog, timeline=data.market.provided.timestamps)

    bus = providers.Resource(connect_bus, signals=signals, strategy=strategy_runner, risk=risk,
                             execution=execution, portfolio=portfolio, order_log=order_log)

    runner = providers.Singleton(SystemRunner, name=config.name, settings=config, bus=bus, market=data.market,
                                 execution=execution, portfolio=portfolio, order_log=order_log,
                                 indicators=indicators)
