"""Drop-in drivers and OCCI extensions, found with :mod:`twisted.plugin`.

Installed as :mod:`occi_twisted.plugins`.  Like :mod:`twisted.plugins`, the package's path is
extended with every ``occi_twisted/plugins`` folder on ``sys.path``, so a deployer can add a
driver by dropping a module into such a folder of their own, without touching this package.
"""

from twisted.plugin import pluginPackagePaths

__path__.extend(pluginPackagePaths(__name__))
__all__: list[str] = []
