"""ARM resource providers. Every module here with a `register(registry)` function is loaded."""

import importlib
import pkgutil


def register_all(registry) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(registry)
