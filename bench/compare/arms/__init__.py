"""The arms of the comparison: every module in this folder that defines Arm subclasses with a
name. Found by listing the folder, so adding an arm is adding a file."""

import importlib
import inspect
import pkgutil

from .base import Arm


def all_arms():
    """name -> Arm subclass, in a stable order (presenced first, then by name)."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base" or module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, Arm) and cls is not Arm and cls.name and not inspect.isabstract(cls):
                found[cls.name] = cls
    return dict(sorted(found.items(), key=lambda item: (not item[0].startswith("presenced"),
                                                         item[0])))
