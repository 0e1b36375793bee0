"""One trading system's container: fresh components joined by its own signals (one per system)."""

from dependency_injector import containers, providers

from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.config.spec import SystemSpec
from multifolio.data.indicators import SystemIndicators
from multifolio.trading.active import ActiveBars
from multifolio.trading.context import StrategyContext
from multifolio.trading.execution import ExecutionSimulator
from multifolio.trading.halts import Guard, Halts
from multifolio.trading.portfolio import Portfolio
from multifolio.trading.risk import RiskManager
from multifolio.trading.signals import SystemSignals
from multifolio.trading.strategy import StrategyRunner
from multifolio.trading.system import OrderLog, SystemRunner, connect_bus


class TradingSystem(containers.DeclarativeContainer):
    """One per system: its own signals, strategy, risk, execution and portfolio, built from its spec.

    Every provider is a Singleton of *this* container, so two systems never share
    an object; the data comes in through `data` and is the same for all.
    """

    spec = providers.Dependency(instance_of=SystemSpec)  # checked and resolved at validation
    data = providers.DependenciesContainer()  # the shared DataContainer
    plugins = providers.Dependency(instance_of=PluginRegistry)

    signals = providers.Singleton(SystemSignals, namespace=spec.provided.namespace)

    strategy = providers.Singleton(PluginRegistry.build, plugins, PluginKind.STRATEGY, spec.provided.strategy)
    sizers = providers.Singleton(PluginRegistry.build_all, plugins, PluginKind.SIZER,
                                 spec.provided.risk.position_sizers)
    limits = providers.Singleton(PluginRegistry.build_all, plugins, PluginKind.RISK_LIMIT, spec.provided.risk.limits)
    exits = providers.Singleton(PluginRegistry.build_all, plugins, PluginKind.EXIT, spec.provided.risk.exits)
    slippage = providers.Singleton(PluginRegistry.build, plugins, PluginKind.SLIPPAGE, spec.provided.execution.slippage)
    commission = providers.Singleton(PluginRegistry.build, plugins, PluginKind.COMMISSION,
                                     spec.provided.execution.commission)

    indicators = providers.Singleton(SystemIndicators, cache=data.features, market=data.market,
                                     specs=spec.provided.indicators)
    portfolio = providers.Singleton(Portfolio, market=data.market,
                                    namespace=spec.provided.namespace, initial_capital=spec.provided.initial_capital)
    execution = providers.Singleton(ExecutionSimulator, signals=signals, market=data.market, portfolio=portfolio,
                                    slippage=slippage, commission=commission, indicators=indicators,
                                    system_name=spec.provided.name, fill_at=spec.provided.execution.fill_at,
                                    close_at_end=spec.provided.portfolio.close_at_end,
                                    max_volume_share=spec.provided.execution.max_volume_share,
                                    lot_size=spec.provided.risk.lot_size)
    halts = providers.Singleton(Halts)
    guard = providers.Singleton(Guard, market=data.market, portfolio=portfolio, halts=halts, limits=limits,
                                limit_types=spec.provided.risk.limit_types,
                                min_equity=spec.provided.portfolio.min_equity)
    risk = providers.Singleton(RiskManager, signals=signals, portfolio=portfolio, book=execution, market=data.market,
                               indicators=indicators, sizers=sizers, limits=limits,
                               lot_size=spec.provided.risk.lot_size, exits=exits, entry=spec.provided.execution.entry,
                               system_name=spec.provided.name, halts=halts)
    context = providers.Singleton(StrategyContext, signals=signals, market=data.market, portfolio=portfolio,
                                  book=execution, indicators=indicators, exits=exits,
                                  lot_size=spec.provided.risk.lot_size, strategy_name=spec.provided.strategy.type,
                                  system_name=spec.provided.name)
    active = providers.Singleton(ActiveBars.of, spec, data.market.provided.timestamps)
    strategy_runner = providers.Singleton(StrategyRunner, strategy=strategy, signals=signals,
                                          indicators=indicators, market=data.market, context=context,
                                          strategy_name=spec.provided.strategy.type,
                                          system_name=spec.provided.name, first_bar=active.provided.first)
    order_log = providers.Singleton(OrderLog, timeline=data.market.provided.timestamps)

    bus = providers.Resource(connect_bus, signals=signals, strategy=strategy_runner, risk=risk,
                             execution=execution, portfolio=portfolio, order_log=order_log, halts=halts,
                             guard=guard)

    runner = providers.Singleton(SystemRunner, spec=spec, bus=bus, market=data.market, strategy=strategy_runner,
                                 execution=execution,
                                 portfolio=portfolio, order_log=order_log, indicators=indicators, active=active,
                                 halts=halts, guard=guard)
