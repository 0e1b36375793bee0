"""The shared data container: bars and the indicator cache (one per run)."""

from dependency_injector import containers, providers

from multifolio.config.model import DataConfig
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.data.indicators import IndicatorCache
from multifolio.data.window import load_window


class DataContainer(containers.DeclarativeContainer):
    """Shared by every trading system of a run: one load, one cache."""

    spec = providers.Dependency(instance_of=DataConfig)  # the checked `data` section
    plugins = providers.Dependency(instance_of=PluginRegistry)

    source = providers.Singleton(PluginRegistry.build, plugins, PluginKind.DATA_SOURCE, spec.provided.source_spec)
    market = providers.Singleton(load_window, source=source, symbols=spec.provided.symbols, window=spec.provided.window,
                                 on_invalid=spec.provided.on_invalid, timezone=spec.provided.timezone,
                                 date_format=spec.provided.date_format, max_dropped=spec.provided.max_dropped,
                                 timestamps=spec.provided.timestamps)
    features = providers.Singleton(IndicatorCache, market=market, plugins=plugins)
