"""The shared data container: bars and the indicator cache (one per run)."""

from dependency_injector import containers, providers

from multifolio.data.indicators import IndicatorCache
from multifolio.data.market import load_market_data
from multifolio.trading.plugins import build_data_source
from multifolio.config.registry import PluginRegistry


class DataContainer(containers.DeclarativeContainer):
    """Shared by every trading system of a run: one load, one cache."""

    config = providers.Configuration(strict=True)  # BacktestConfig.data_settings()
    plugins = providers.Dependency(instance_of=PluginRegistry)

    source = providers.Singleton(build_data_source, plugins, config.source, config.symbols, config.params)
    market = providers.Singleton(load_market_data, source=source, symbols=config.symbols,
                                 on_invalid=config.on_invalid, timezone=config.timezone)
    features = providers.Singleton(IndicatorCache, market=market, plugins=plugins)
