"""The root container of a run: shared data, a plugin registry, and the system factory."""

from dependency_injector import containers, providers

from multifolio.book.book import Book
from multifolio.config.model import DataConfig
from multifolio.config.registry import PluginKind, PluginRegistry
from multifolio.containers.data import DataContainer
from multifolio.containers.trading_system import TradingSystem


class BacktestContainer(containers.DeclarativeContainer):
    """One per run. `trading_system(spec=system_spec)` returns a new, isolated system each call;
    `book(spec=book_spec, runners=..., allocator=allocator(spec), controller=controller(spec))` the book
    that couples some."""

    data_spec = providers.Dependency(instance_of=DataConfig)  # BacktestConfig.data
    plugins = providers.Singleton(PluginRegistry)
    data = providers.Container(DataContainer, spec=data_spec, plugins=plugins)  # one, shared
    trading_system = providers.Factory(TradingSystem, data=data, plugins=plugins)  # a new one per call
    allocator = providers.Factory(PluginRegistry.build, plugins, PluginKind.ALLOCATOR)
    controller = providers.Factory(PluginRegistry.build, plugins, PluginKind.CONTROLLER)
    book = providers.Factory(Book, market=data.market)
