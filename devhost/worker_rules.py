"""The Python worker's indexing rules, so an app devhost serves is an app the worker on Azure would load.

On Azure the Python worker (4.x) indexes ``function_app.py``, then registers each function
(``Registry.add_indexed_function``) and builds its binding and retry descriptions for the host. Any error
there fails the whole app's indexing: the host logs the worker's message and then finds no functions at all.
These checks apply the same rules to the same ``azure.functions`` objects (``Function.get_bindings()``,
``get_user_function()``, the retry setting) and word their refusals as the worker does, so a refusal here
reads like the log line Azure would show:

- every binding but ``$return`` must name a parameter of the function and every parameter must be bound
  (``context`` excepted, which must then be annotated ``azure.functions.Context``);
- a binding annotation must be a real type or a ``typing`` generic: ``dict[str, Any]`` or ``str | None``
  are refused as "invalid non-type annotation";
- output bindings are annotated ``azure.functions.Out[T]`` (exactly one argument), input bindings are not;
- the annotated type must be one the binding's converter accepts (``azure.functions``' converter registry,
  the same one the worker consults; bindings without a converter take ``str`` or ``bytes``);
- ``"inout"`` bindings are refused, ``$return`` must be an output, the return annotation must be a real type
  that the return binding accepts and never ``Out``;
- a retry policy's counts and intervals must parse as the worker parses them (``int()``, ``HH:MM:SS``).

Functions without a trigger and duplicate function names are refused by ``app.get_functions()`` itself
(``azure.functions``), before these checks run; both the worker and devhost call it.
"""

from __future__ import annotations

import collections.abc
import inspect
import os
import re
import time
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import azure.functions as func

RETURN_BINDING = "$return"
CONTEXT_PARAMETER = "context"
# BindingDirection values as the library's bindings report them (``Binding.direction``).
DIRECTION_OUT = 1
DIRECTION_INOUT = 2
DATA_TYPE_UNDEFINED = 0
# A binding with no converter in the library is passed as a string or bytes ("generic" in the worker).
GENERIC_BINDING = "generic"
DURABLE_CLIENT = "durableClient"
RETRY_SETTING = "retry_policy"
HTTP_TRIGGER = "httpTrigger"
BLOB_TRIGGER = "blobTrigger"
MAX_BLOB_NAME = 1024
# The extension's container rule as its regular expression has it (it also lets "[" and "^" through).
_CONTAINER_NAME = re.compile(r"[a-z0-9][a-z0-9\-\[\^]{1,61}[a-z0-9]")
_APP_SETTING = re.compile(r"%([^%]+)%")
HOST_ERROR_TYPE = "InvalidOperationException"  # what the host throws for a function it puts in error
# The host keeps /admin/... for itself: any route whose text begins with "admin" is refused.
RESERVED_ROUTE_PREFIX = "admin"
_FUNCTION_NAME = re.compile(r"[a-z][a-z0-9_\-]{0,127}", re.IGNORECASE)
RETRY_TIME_FORMAT = "%H:%M:%S"

# ``typing``'s private alias classes: ``List[int]``/``Out[str]`` and the bare ``List``. Only these count as
# generic types for the worker; ``dict[str, Any]`` (a ``types.GenericAlias``) does not.
_TYPING_ALIASES: tuple[type, ...] = tuple(
    alias
    for alias in (getattr(typing, "_GenericAlias", None), getattr(typing, "_SpecialGenericAlias", None))
    if isinstance(alias, type)
)
_NOT_GENERIC_ORIGINS: tuple[Any, ...] = (typing.Union, tuple, typing.ClassVar, collections.abc.Callable)


class WorkerIndexingError(ValueError):
    """The Python worker would refuse to index one or more functions of the app.

    ``refusals`` holds one ``Refusal`` per function, in indexing order; the message lists them as
    ``<function>: <worker exception type>: <worker message>``.
    """

    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(str(refusal) for refusal in refusals))


@dataclass(frozen=True)
class Refusal:
    """Why one function is refused: the exception type raised, its message, and who raises it on Azure.

    ``raised_by`` is ``"worker"`` (the Python worker's indexing: the whole app fails) or ``"host"`` (the
    Functions host's own checks: the function is put "in error" and does not run).
    """

    function_name: str
    error_type: str
    message: str
    raised_by: str = "worker"

    def __str__(self) -> str:
        return f"{self.function_name}: {self.error_type}: {self.message}"


class FunctionLoadError(RuntimeError):
    """The worker's own refusal, worded as the worker words it."""

    def __init__(self, function_name: str, reason: str) -> None:
        super().__init__(f"cannot load the {function_name} function: {reason}")


def check_functions(functions: Iterable[func.Function]) -> None:
    """Apply the worker's and the host's rules to every function; raise ``WorkerIndexingError`` if any fails.

    The worker's refusals come first (on Azure they stop the app before the host sees any function), then
    the host's own checks of names and HTTP routes.
    """
    functions = list(functions)
    refusals: list[Refusal] = []
    for function in functions:
        name = str(function.get_function_name())
        try:
            check_function(function)
        except Exception as error:  # the worker fails indexing on any exception, whatever its type
            refusals.append(Refusal(name, type(error).__name__, str(error)))
    if not refusals:
        refusals = host_refusals(functions)
    if refusals:
        raise WorkerIndexingError(refusals)


def host_refusals(functions: Iterable[func.Function]) -> list[Refusal]:
    """Return what the Functions host refuses once the worker indexed the app, in its words.

    The host checks each function's name, its binding names (unique), a blob trigger's path and, for HTTP
    triggers, the route: nothing under its own ``admin``
    space, no route shared with another function for an overlapping method, and a template its router can
    parse. On Azure the function is then "in error" and never runs while the others do; devhost refuses
    the app instead, so the mistake is seen before deploying.
    """
    # http_triggers builds on devhost.functions, which imports this module: import the router lazily.
    from devhost.http_triggers import RouteTemplate, RouteTemplateError

    refusals: list[Refusal] = []
    routes: dict[str, tuple[str, frozenset[str]]] = {}
    for function in functions:
        name = str(function.get_function_name())

        def refuse(message: str, function_name: str = name) -> None:
            refusals.append(
                Refusal(
                    function_name,
                    HOST_ERROR_TYPE,
                    f"The '{function_name}' function is in error: {message}",
                    raised_by="host",
                )
            )

        if _FUNCTION_NAME.fullmatch(name) is None:
            refuse(f"'{name}' is not a valid function name.")
            continue
        binding_problem = _binding_names_problem(function)
        if binding_problem is not None:
            refuse(binding_problem)
            continue
        trigger = function.get_trigger()
        if trigger is not None and str(trigger.get_binding_name()) == BLOB_TRIGGER:
            path_problem = blob_trigger_path_problem(str(trigger.get_dict_repr().get("path") or ""))
            if path_problem is not None:
                refuse(f"Error indexing method 'Functions.{name}'. {path_problem}")
            continue
        if trigger is None or str(trigger.get_binding_name()) != HTTP_TRIGGER:
            continue
        trigger_json = trigger.get_dict_repr()
        route = str(trigger_json.get("route") or name)
        normalized = route.strip("/").lower()
        if normalized.startswith(RESERVED_ROUTE_PREFIX):
            refuse("The specified route conflicts with one or more built in routes.")
            continue
        try:
            RouteTemplate(route)
        except RouteTemplateError as error:
            refuse(f"The route template '{route}' is invalid: {error}")
            continue
        methods = frozenset(str(method).upper() for method in trigger_json.get("methods") or ())
        for other_name, (other_route, other_methods) in routes.items():
            if other_route == normalized and (not methods or not other_methods or methods & other_methods):
                refuse(f"The route specified conflicts with the route defined by function '{other_name}'.")
                break
        else:
            routes[name] = (normalized, methods)
    return refusals


def check_function(function: func.Function) -> None:
    """Raise what the worker raises while registering ``function`` (nothing when it would load)."""
    name = str(function.get_function_name())
    user_function = function.get_user_function()
    parameters = dict(inspect.signature(user_function).parameters)
    # Like the worker: unresolvable string annotations fail here with the NameError they raise.
    annotations = typing.get_type_hints(user_function)

    bound: dict[str, Any] = {}
    has_explicit_return = False
    # The return value goes to the ``$return`` binding, else to the last binding with an implicit output
    # (the durable triggers): only an explicit ``$return`` has its annotation checked.
    return_binding_type: str | None = None
    for binding in function.get_bindings():
        if binding.direction == DIRECTION_INOUT:
            raise FunctionLoadError(name, '"inout" bindings are not supported')
        if binding.name == RETURN_BINDING:
            if binding.direction != DIRECTION_OUT:
                raise FunctionLoadError(name, '"$return" binding must have direction set to "out"')
            if not has_explicit_return:
                return_binding_type = binding.type
            has_explicit_return = True
            continue
        bound[binding.name] = binding
        if _has_implicit_output(str(binding.type)) and not has_explicit_return:
            return_binding_type = binding.type

    if CONTEXT_PARAMETER in parameters and CONTEXT_PARAMETER not in bound:
        parameters.pop(CONTEXT_PARAMETER)
        if CONTEXT_PARAMETER in annotations:
            context_annotation = annotations[CONTEXT_PARAMETER]
            if not (isinstance(context_annotation, type) and context_annotation.__name__ == "Context"):
                raise FunctionLoadError(
                    name,
                    'the "context" parameter is expected to be of type azure.functions.Context, '
                    f"got {context_annotation!r}",
                )

    unbound = set(parameters) - set(bound)
    if unbound:
        raise FunctionLoadError(
            name, f"the following parameters are declared in Python but not in function.json: {unbound!r}"
        )
    missing = set(bound) - set(parameters)
    if missing:
        raise FunctionLoadError(
            name, f"the following parameters are declared in function.json but not in Python: {missing!r}"
        )

    for parameter_name in parameters:
        _check_parameter(name, parameter_name, bound[parameter_name], annotations)

    if has_explicit_return and "return" in annotations and return_binding_type is not None:
        _check_return(name, annotations["return"], return_binding_type)

    _check_retry(function)


def blob_trigger_path_problem(path: str) -> str | None:
    """Return what the blob extension says about a blob trigger's ``path``, or ``None`` when it is valid.

    ``%Setting%`` parts are resolved from the app settings first, as the host resolves them. A path is
    ``container`` or ``container/blob``; the container may not hold ``{name}`` tokens; a path without tokens
    must name a valid container (3-63 lowercase letters, digits and hyphens) and, if it names one, a valid
    blob (``BlobPathSource.Create`` in the Storage Blobs extension).
    """
    pattern = _APP_SETTING.sub(lambda found: os.environ.get(found.group(1), found.group(0)), path)
    slash = pattern.find("/")
    has_blob_name = slash != -1
    container = pattern[:slash] if has_blob_name else pattern
    blob_name = pattern[slash + 1 :] if has_blob_name else ""
    if (has_blob_name and not 0 < slash < len(pattern) - 1) or "\\" in container:
        return f"Invalid blob trigger path '{pattern}'. Paths must be in the format 'container/blob'."
    if "{" in container:
        return f"Invalid blob trigger path '{pattern}'. Container paths cannot contain {{resolve}} tokens."
    if "{" in pattern:
        return None  # a template: its blob part is checked per blob, when one arrives
    if container != "$root" and _CONTAINER_NAME.fullmatch(container) is None:
        return f"Invalid container name: {container}"
    if has_blob_name:
        if len(blob_name) > MAX_BLOB_NAME:
            return (
                f"The given blob name '{blob_name}' is too long. A blob name must be at least one character "
                "long and cannot be more than 1,024 characters long."
            )
        if blob_name.endswith((".", "/")):
            return (
                f"The given blob name '{blob_name}' has an invalid suffix. Avoid blob names that end with a "
                "dot ('.'), a forward slash ('/'), or a sequence or combination of the two."
            )
        if "\\" in blob_name:
            return (
                f"The given blob name '{blob_name}' contain illegal characters. A blob name cannot the "
                "following character(s): '\\'."
            )
    return None


def _binding_names_problem(function: func.Function) -> str | None:
    """Return what the host's metadata validation says about the binding names, or ``None``.

    The worker keys bindings by name, so a second binding of the same name silently replaces the first;
    the host (``WorkerFunctionMetadataProvider.ValidateBindings``) refuses the function instead. (The host
    also refuses names that are not identifiers, but the worker has already refused those: every binding
    but ``$return`` must name a Python parameter.)
    """
    seen: set[str] = set()
    for binding in function.get_bindings():
        name = str(binding.name)
        if name in seen:
            return f"Multiple bindings with name '{name}' discovered. Binding names must be unique."
        seen.add(name)
    return None


def _check_parameter(function_name: str, parameter: str, binding: Any, annotations: dict[str, Any]) -> None:
    if parameter not in annotations:
        return
    annotation = annotations[parameter]
    is_out = _is_out_annotation(annotation)
    python_type = annotation
    if is_out:
        arguments = typing.get_args(annotation)
        if len(arguments) != 1:
            raise FunctionLoadError(
                function_name, f"binding {parameter} has invalid Out annotation {annotation!r}"
            )
        python_type = arguments[0]
    if not isinstance(python_type, type) and not is_generic_type(python_type):
        raise FunctionLoadError(
            function_name, f"binding {parameter} has invalid non-type annotation {annotation!r}"
        )
    binding_is_out = binding.direction == DIRECTION_OUT
    if binding_is_out and not is_out:
        raise FunctionLoadError(
            function_name,
            f'binding {parameter} is declared to have the "out" direction, but its annotation in Python '
            "is not a subclass of azure.functions.Out",
        )
    if not binding_is_out and is_out:
        raise FunctionLoadError(
            function_name,
            f'binding {parameter} is declared to have the "in" direction in function.json, but its '
            "annotation is azure.functions.Out in Python",
        )
    # A str or bytes parameter of a binding without implicit output is passed as-is ("generic").
    checked_as = binding.type
    if python_type in (str, bytes) and not _has_implicit_output(binding.type):
        checked_as = GENERIC_BINDING
    accepted = _accepts_output(checked_as, python_type) if is_out else _accepts_input(checked_as, python_type)
    if accepted:
        return
    type_name = getattr(python_type, "__name__", repr(python_type))
    if binding.data_type == DATA_TYPE_UNDEFINED:
        raise FunctionLoadError(
            function_name,
            f'type of {parameter} binding in function.json "{binding.type}" does not match its Python '
            f'annotation "{type_name}"',
        )
    raise FunctionLoadError(
        function_name,
        f'{parameter!r} binding type "{binding.type}" and dataType "{binding.data_type}" in function.json '
        f'do not match the corresponding function parameter\'s Python type annotation "{type_name}"',
    )


def _check_return(function_name: str, annotation: Any, binding_type: str) -> None:
    if is_generic_type(annotation):
        origin = _typing_origin(annotation)
        # The worker reads the origin's name unguarded; a bare generic class fails the same way there.
        if origin is None:
            raise AttributeError("'NoneType' object has no attribute '__name__'")
        if getattr(origin, "__name__", None) == "Out":
            raise FunctionLoadError(function_name, "return annotation should not be azure.functions.Out")
    if not isinstance(annotation, type):
        raise FunctionLoadError(function_name, f"has invalid non-type return annotation {annotation!r}")
    if not _accepts_output(binding_type, annotation):
        raise FunctionLoadError(
            function_name,
            f'Python return annotation "{annotation.__name__}" does not match binding type "{binding_type}"',
        )


def _check_retry(function: func.Function) -> None:
    """Parse the retry policy as the worker does when it describes it to the host."""
    try:
        settings = function.get_settings_dict(RETRY_SETTING)
    except AttributeError:
        return  # the worker logs a warning and runs the function without retries
    if not settings:
        return
    int(settings.get("max_retry_count"))  # type: ignore[arg-type]
    if settings.get("strategy") == "fixed_delay":
        _retry_seconds(settings.get("delay_interval"))
    else:
        _retry_seconds(settings.get("minimum_interval"))
        _retry_seconds(settings.get("maximum_interval"))


def _retry_seconds(value: Any) -> int:
    parsed = time.strptime(value, RETRY_TIME_FORMAT)
    return parsed.tm_hour * 3600 + parsed.tm_min * 60 + parsed.tm_sec


def is_generic_type(annotation: Any) -> bool:
    """Tell whether the worker counts ``annotation`` as a generic type (``List[int]``, ``Out[str]``...).

    Subclasses of ``typing.Generic`` and ``typing`` aliases count, except unions, tuples, ``ClassVar`` and
    callables; the built-in aliases ``dict[str, Any]`` and ``list[int]`` do not.
    """
    if isinstance(annotation, type) and issubclass(annotation, typing.Generic):
        return True
    if not isinstance(annotation, _TYPING_ALIASES):
        return False
    origin: Any = getattr(annotation, "__origin__", None)
    return origin not in _NOT_GENERIC_ORIGINS


def _typing_origin(annotation: Any) -> Any:
    if isinstance(annotation, _TYPING_ALIASES):
        origin: Any = getattr(annotation, "__origin__", None)
        return None if origin is typing.ClassVar else origin
    if annotation is typing.Generic:
        return typing.Generic
    return None


def _is_out_annotation(annotation: Any) -> bool:
    if is_generic_type(annotation):
        origin = _typing_origin(annotation)
        if origin is not None:
            return isinstance(origin, type) and origin.__name__ == "Out"
    return isinstance(annotation, type) and annotation.__name__ == "Out"


def _converter(binding_type: str) -> Any:
    registry: Any = func.get_binding_registry()  # type: ignore[no-untyped-call]
    return registry.get(binding_type)


def _has_implicit_output(binding_type: str) -> bool:
    converter = _converter(binding_type)
    if converter is None:
        return binding_type != DURABLE_CLIENT
    has_implicit_output: Callable[[], bool] = getattr(converter, "has_implicit_output", lambda: False)
    return bool(has_implicit_output())


def _accepts_input(binding_type: str, python_type: Any) -> bool:
    converter = _converter(binding_type)
    if converter is None:
        return issubclass(python_type, (str, bytes))
    return bool(converter.check_input_type_annotation(python_type))


def _accepts_output(binding_type: str, python_type: Any) -> bool:
    converter = _converter(binding_type)
    if converter is None:
        return issubclass(python_type, (str, bytes, bytearray))
    return bool(converter.check_output_type_annotation(python_type))
