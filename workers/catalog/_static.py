"""Static checks of a catalog entry's import paths: is the class (or task module) where the entry
says, and does the constructor take the arguments tunecost will pass?

A broken entry used to be found only when a job failed, with a Ray traceback that never named
the entry's field. The catalog runs these checks when it loads a plugin, in the API process
too, which must not import torch or run plugin code: so the sources are read, not imported,
with griffe (the static analyser behind mkdocstrings). What cannot be known without running
code (a class built at import time, a base class from an unparsed package, ``**kwargs``) is
given the benefit of the doubt: these checks report only what is certainly wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunecost.workers.catalog.entries import OptimizerInfo, TaskInfo

# Parsing these would cost seconds and they are checked by tunecost's own tests.
_NOT_PARSED = frozenset({"torch"})


class EntryError(ValueError):
    """A catalog entry that cannot work, and the field of the entry at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"`{field}`: {message}")
        self.field = field


def check_optimizer_class(info: OptimizerInfo) -> None:
    """``optimizer`` names a class whose constructor takes ``alpha_arg``, ``epsilon_arg`` and
    every key of ``options`` (it is called as ``Class(param_groups, **those)``)."""
    cls = _lookup(info.optimizer, "optimizer")
    if cls is None or not cls.is_class:
        return
    accepted = _init_parameters(cls)
    if accepted is None:
        return
    takes = ", ".join(p for p in accepted if p not in ("self", "params")) or "nothing else"
    wanted = [("alpha_arg", info.alpha_arg), ("epsilon_arg", info.epsilon_arg)]
    wanted += [("options", key) for key in info.options]
    for field, argument in wanted:
        if argument is not None and argument not in accepted:
            raise EntryError(
                field,
                f"{cls.name}.__init__ takes no argument {argument!r} (it takes params, {takes})",
            )
    if info.batched:
        check_batched_class(info)


def check_batched_class(info: OptimizerInfo) -> None:
    """``batched`` names a class whose constructor takes the stacked tensors, the alphas, the
    epsilons and every key of ``options`` (``Class(stacked, alphas, epsilons, **options)``)."""
    if ":" not in info.batched:
        raise EntryError("batched", f"must be 'package.module:Class', got {info.batched!r}")
    cls = _lookup(info.batched, "batched")
    if cls is None or not cls.is_class:
        return
    accepted = _init_parameters(cls)
    if accepted is None:
        return
    positional = [p for p in accepted if p != "self"][:3]
    if len(positional) < 3:
        raise EntryError("batched", f"{cls.name}.__init__ must take (params, alpha, eps), takes {positional}")
    missing = [key for key in info.options if key not in accepted]
    if missing:
        raise EntryError("options", f"{cls.name}.__init__ takes no argument {missing[0]!r}")


def check_task_module(info: TaskInfo) -> None:
    """``module`` names a module (or a namespace in one) that defines ``load_data`` and ``build_model``."""
    namespace = _lookup(info.module, "module")
    if namespace is None or _dynamic(namespace):
        return
    missing = [name for name in ("load_data", "build_model") if name not in namespace.members]
    if missing:
        raise EntryError("module", f"{info.module!r} defines no {' or '.join(missing)}")


def _lookup(path: str, field: str) -> Any:
    """The griffe object at ``"package.module[:Attribute]"``; None where it cannot be known
    statically. Raises EntryError where it certainly is not there."""
    # griffe: only when a plugin's entry is checked
    import griffe

    module_name, _, attribute = path.partition(":")
    if module_name.split(".")[0] in _NOT_PARSED:
        return None
    loader = griffe.GriffeLoader(allow_inspection=False)  # parse sources, never import them
    try:
        module = loader.load(module_name)
    except ModuleNotFoundError:
        raise EntryError(field, f"no module {module_name!r} is installed (from {path!r})") from None
    except Exception:  # a compiled module or a source griffe cannot read: unknowable here
        return None
    if not attribute:
        return module
    if attribute not in module.members:
        if _dynamic(module):
            return None
        raise EntryError(field, f"module {module_name!r} has no {attribute!r} (from {path!r})")
    return _resolved(loader, module.members[attribute])


def _resolved(loader: Any, obj: Any) -> Any:
    """Follow an import alias to what it names, parsing the package it names if need be."""
    if not obj.is_alias:
        return obj
    try:
        return obj.final_target
    except Exception:
        package = obj.target_path.split(".")[0]
        if package in _NOT_PARSED:
            return None
        try:
            loader.load(package)
            return obj.final_target
        except Exception:
            return None


def _dynamic(module: Any) -> bool:
    """A module that can make attributes at run time, or re-exports everything of another."""
    return "__getattr__" in module.members or bool(getattr(module, "imports", {}).get("*"))


def _init_parameters(cls: Any) -> list[str] | None:
    """The names ``cls.__init__`` takes; None if it takes ``**kwargs`` or is not in sight."""
    # griffe: only when a plugin's entry is checked
    from griffe import ParameterKind

    try:
        init = cls.all_members.get("__init__")
    except Exception:  # a base class that cannot be resolved
        return None
    if init is None:
        return None
    try:
        init = init.final_target if init.is_alias else init
    except Exception:
        return None
    if not init.is_function:
        return None
    if any(p.kind is ParameterKind.var_keyword for p in init.parameters):
        return None
    return [p.name for p in init.parameters]
