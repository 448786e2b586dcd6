"""Load and index a Python v2 (decorator model) Functions app the way the Python worker does.

The worker imports the script module, finds its single ``azure.functions.FunctionRegister`` (a durable
``DFApp`` is one) and calls ``app.get_functions()``. Every function then offers its name, its trigger, its
raw bindings (JSON strings, the trigger included) and the user callable; for durable triggers the callable is
already the SDK's wrapper (an orchestrator's ``handle``, an entity's ``handle``, a client's middleware).

Indexing is as strict as the worker's: ``index_app`` applies the worker's registration rules
(``devhost.worker_rules``) and raises ``WorkerIndexingError`` when the worker on Azure would refuse a
function, so an app that would not start on Azure does not start here either.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from devhost.host_config import HostConfigError, load_host_config
from devhost.worker_rules import Refusal, WorkerIndexingError, check_functions

LOCAL_SETTINGS_FILE = "local.settings.json"
SCRIPT_FILE_DEFAULT = "function_app.py"


class AppLoadError(Exception):
    """The app could not be imported or indexed; ``traceback_text`` holds the formatted traceback.

    When the worker's indexing rules refused the app, ``__cause__`` is the ``WorkerIndexingError``.
    """

    def __init__(self, message: str, traceback_text: str) -> None:
        super().__init__(message)
        self.traceback_text = traceback_text

    @property
    def worker_refusals(self) -> list[Refusal]:
        """The functions the worker's rules refused (empty when the app failed for another reason)."""
        cause = self.__cause__
        return list(cause.refusals) if isinstance(cause, WorkerIndexingError) else []


@dataclass(frozen=True)
class FunctionInfo:
    """One indexed function: its name, trigger and bindings as the worker sees them."""

    name: str
    trigger_type: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    user_function: Callable[..., Any] = field(compare=False)

    def binding_names(self, binding_type: str) -> list[str]:
        """Return the parameter names of every binding of ``binding_type`` (e.g. ``"durableClient"``)."""
        return [str(binding["name"]) for binding in self.bindings if binding.get("type") == binding_type]

    @property
    def trigger_parameter(self) -> str:
        """The parameter name the trigger value is passed as (the trigger binding's ``name``)."""
        return str(self.trigger.get("name", ""))


@dataclass
class FunctionIndex:
    """Every function of one app, by name."""

    app_path: Path | None
    functions: dict[str, FunctionInfo]

    def of_type(self, trigger_type: str) -> list[FunctionInfo]:
        """Return the functions whose trigger is ``trigger_type``, in registration order."""
        return [info for info in self.functions.values() if info.trigger_type == trigger_type]

    def get(self, name: str, trigger_type: str | None = None) -> FunctionInfo | None:
        """Return the function called ``name`` (optionally only when its trigger is ``trigger_type``).

        Durable Functions matches function names case-insensitively, so a second, case-insensitive look-up
        follows an exact miss.
        """
        info = self.functions.get(name)
        if info is None:
            lowered = name.lower()
            info = next((f for n, f in self.functions.items() if n.lower() == lowered), None)
        if info is None or (trigger_type is not None and info.trigger_type != trigger_type):
            return None
        return info


def load_local_settings(app_dir: Path) -> dict[str, str]:
    """Read ``Values`` of ``local.settings.json`` in ``app_dir`` into ``os.environ``.

    As ``func start`` does, variables already in the environment win over the file. Returns every value the
    file declares (as strings); a missing file yields ``{}``.
    """
    settings_path = app_dir / LOCAL_SETTINGS_FILE
    if not settings_path.is_file():
        return {}
    try:
        document = json.loads(settings_path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise AppLoadError(f"{settings_path} is not valid JSON: {error}", traceback.format_exc()) from error
    raw_values = document.get("Values", {}) if isinstance(document, dict) else {}
    values = {str(key): _setting_text(value) for key, value in dict(raw_values).items()}
    for key, value in values.items():
        os.environ.setdefault(key, value)
    return values


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def index_app(app: func.FunctionRegister, app_path: Path | None = None) -> FunctionIndex:
    """Index ``app`` as the worker does and return its functions by name.

    Raises ``WorkerIndexingError`` (naming each function and the worker's words) when the Python worker
    would refuse to load any function, and ``ValueError`` from ``get_functions()`` for a function without a
    trigger or a duplicate function name, as the worker does.
    """
    # get_functions() remembers the names it validated, so a second indexing of the same app object (tests
    # build several hosts from one app) would report every function as a duplicate.
    app.functions_bindings = None
    indexed = app.get_functions()
    check_functions(indexed)
    functions: dict[str, FunctionInfo] = {}
    for function in indexed:
        trigger = function.get_trigger()
        name = function.get_function_name()
        if trigger is None or name is None:
            continue
        trigger_type = str(trigger.get_binding_name())
        bindings = [json.loads(raw) for raw in function.get_raw_bindings()]
        trigger_dict = next(
            (b for b in bindings if b.get("type") == trigger_type and b.get("name") == trigger.name),
            next((b for b in bindings if b.get("type") == trigger_type), {"type": trigger_type}),
        )
        functions[name] = FunctionInfo(
            name=name,
            trigger_type=trigger_type,
            trigger=trigger_dict,
            bindings=bindings,
            user_function=function.get_user_function(),
        )
    return FunctionIndex(app_path=app_path, functions=functions)


def find_function_register(module: ModuleType) -> func.FunctionRegister:
    """Return the one ``FunctionRegister`` defined at module level, as the worker requires.

    The worker counts module attributes, not objects: a second name bound to the same app is refused too.
    Both refusals use the worker's words.
    """
    found: func.FunctionRegister | None = None
    for value in vars(module).values():
        if not isinstance(value, func.FunctionRegister):
            continue
        if found is not None:
            raise ValueError(
                f"More than one {type(found).__name__} or other top level function app instances are defined."
            )
        found = value
    if found is None:
        script = Path(module.__file__ or SCRIPT_FILE_DEFAULT).name
        raise ValueError(
            f"Could not find top level function app instances in {script}. "
            "(no FunctionApp, i.e. azure.functions.FunctionRegister, is defined at module level)"
        )
    return found


def load_app(app_path: Path, *, keep_module: bool = False) -> FunctionIndex:
    """Load settings beside ``app_path``, import it by path (its folder on ``sys.path``) and index it.

    With ``keep_module`` (the host process, one app for its lifetime) the app stays importable under its stem
    and its folder stays first on ``sys.path``, as in the worker. Without it (tests and tools that load
    several apps into one process) both are put back as they were once the import ran, so loading a test app
    never shadows another module of the same name, such as the project's own ``function_app``.

    Raises ``AppLoadError`` carrying the traceback when ``host.json`` is one the host would refuse (its cause
    is then a ``HostConfigError``), or when the import or indexing fails.
    """
    app_path = app_path.resolve()
    app_dir = app_path.parent
    load_local_settings(app_dir)
    try:
        # The host reads host.json before it starts the worker: a file it would refuse stops everything.
        load_host_config(app_dir)
    except HostConfigError as error:
        raise AppLoadError(str(error), traceback.format_exc()) from error
    inserted_path = str(app_dir) not in sys.path
    if inserted_path:
        sys.path.insert(0, str(app_dir))
    # The worker imports the script under its stem ("function_app"); another app already imported under the
    # same stem in this process (tests load several) is replaced while this one is imported.
    module_name = app_path.stem
    previous = sys.modules.get(module_name)
    try:
        spec = importlib.util.spec_from_file_location(module_name, app_path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {app_path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return index_app(find_function_register(module), app_path)
    except Exception as error:
        raise AppLoadError(f"failed to load {app_path}: {error}", traceback.format_exc()) from error
    finally:
        if not keep_module:
            if previous is None:
                sys.modules.pop(module_name, None)
            else:
                sys.modules[module_name] = previous
            if inserted_path:
                with contextlib.suppress(ValueError):
                    sys.path.remove(str(app_dir))
