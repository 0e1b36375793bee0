"""The root container of a run: shared data, a plugin registry, and the system factory."""

from dependency_injector import containers, providers

from multifolio.config.registry import PluginRegistry
from multifolio.containers.data import DataContainer
from multifolio.containers.trading_system import TradingSystem


class BacktestContainer(containers.DeclarativeContainer):
    """One per run. `trading_system(config=entry)` returns a new, isolated system each call."""

    config = providers.Configuration(strict=True)  # {"data": DataConfig as a dict}
    plugins = providers.Singleton(PluginRegistry)
    data = providers.Container(DataContainer, config=config.data, plugins=plugins)  # one, shared
    trading_system = providers.Factory(TradingSystem, data=data, plugins=plugins)  # a new one per call
