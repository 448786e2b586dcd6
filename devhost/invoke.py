"""Call a user function the way the Python worker does: by binding names, sync on threads, async on the loop.

The worker matches every binding's ``name`` to a parameter of the user function: the trigger value goes to
the trigger's name, a ``durableClient`` input receives the binding JSON string (the SDK's middleware turns it
into a ``DurableOrchestrationClient``), a named output binding receives an ``azure.functions.Out`` to
``set()``, and a parameter called ``context`` receives the invocation context. Sync functions run on a thread
pool so a blocking function cannot stall the host; coroutine functions are awaited on the host's loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import threading
import typing
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import azure.functions as func
from azure.functions import _abc

from devhost.function_time import FunctionTime
from devhost.functions import FunctionInfo

if TYPE_CHECKING:
    from devhost.blob_bindings import BlobBindings

LOGGER = logging.getLogger("devhost.invoke")

RETURN_BINDING = "$return"
T = TypeVar("T")


class OutputValue(func.Out[T], Generic[T]):
    """The ``azure.functions.Out`` a named output binding parameter receives."""

    def __init__(self) -> None:
        self._value: T | None = None
        self.was_set = False

    def set(self, val: T) -> None:
        """Record the value the function sets for this output binding."""
        self._value = val
        self.was_set = True

    def get(self) -> T:
        """Return the value set so far (``None`` when unset)."""
        return self._value  # type: ignore[return-value]


class _TraceContext(_abc.TraceContext):
    def __init__(self) -> None:
        self._parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _NoException(_abc.RpcException):
    @property
    def source(self) -> str:
        return ""

    @property
    def stack_trace(self) -> str:
        return ""

    @property
    def message(self) -> str:
        return ""


class _RetryContext(_abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> _abc.RpcException:
        return _NoException()


class InvocationContext(func.Context):
    """The ``azure.functions.Context`` passed to a parameter named ``context``."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._thread_local = threading.local()
        self._trace = _TraceContext()
        self._retry = _RetryContext()

    @property
    def invocation_id(self) -> str:
        """A fresh id per invocation."""
        return self._invocation_id

    @property
    def thread_local_storage(self) -> type[threading.local]:
        """Thread-local storage for the invocation."""
        return self._thread_local  # type: ignore[return-value]

    @property
    def function_name(self) -> str:
        """The function's name."""
        return self._function_name

    @property
    def function_directory(self) -> str:
        """The app's folder."""
        return self._function_directory

    @property
    def trace_context(self) -> _abc.TraceContext:
        """A fresh W3C trace parent; no tracing is exported."""
        return self._trace

    @property
    def retry_context(self) -> _abc.RetryContext:
        """Always the first attempt: devhost has no function-level retry policies."""
        return self._retry


@dataclass
class InvocationResult:
    """What a function produced: its return value and every named output binding it set."""

    return_value: Any
    outputs: dict[str, Any] = field(default_factory=dict)

    def output(self, binding_name: str) -> Any:
        """Return the value for ``binding_name`` (``$return`` means the return value)."""
        if binding_name == RETURN_BINDING:
            return self.return_value
        return self.outputs.get(binding_name)


def parameter_annotation(function: Callable[..., Any], name: str) -> Any:
    """Return the resolved annotation of parameter ``name`` (``None`` when absent or unresolvable)."""
    target = inspect.unwrap(function)
    try:
        hints = typing.get_type_hints(target)
    except Exception:
        # String annotations naming something the module does not import: fall back to the raw ones.
        hints = dict(getattr(target, "__annotations__", {}))
    return hints.get(name)


class FunctionInvoker:
    """Invokes indexed functions with their bindings filled in."""

    def __init__(
        self,
        *,
        executor: Executor | None,
        client_binding: Callable[[], str] | None,
        app_dir: Path | None = None,
        blob_bindings: BlobBindings | None = None,
        function_time: FunctionTime | None = None,
    ) -> None:
        self._executor = executor
        self.function_time = function_time or FunctionTime()
        self._blob_bindings = blob_bindings
        self._client_binding = client_binding
        self._app_dir = str(app_dir) if app_dir else ""
        self._warned_unsupported: set[tuple[str, str]] = set()

    async def invoke(
        self,
        info: FunctionInfo,
        trigger_value: Any,
        *,
        extra_inputs: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> InvocationResult:
        """Call ``info``'s user function with ``trigger_value`` bound to its trigger parameter.

        ``metadata`` holds the trigger's values that binding expressions (``{name}`` in a blob path) refer to.
        Exceptions raised by the function propagate to the caller, which decides what they mean (500 for an
        HTTP trigger, a failed receipt for a blob trigger, ...).
        """
        user_function = info.user_function
        parameters = inspect.signature(user_function).parameters
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        kwargs: dict[str, Any] = {}
        outputs: dict[str, OutputValue[Any]] = {}
        for binding in info.bindings:
            name = str(binding.get("name", ""))
            if not name or name == RETURN_BINDING:
                continue
            if name not in parameters and not accepts_any:
                continue
            direction = str(binding.get("direction", "IN")).upper()
            binding_type = str(binding.get("type", ""))
            if binding is info.trigger or (
                binding_type == info.trigger_type and name == info.trigger_parameter
            ):
                kwargs[name] = trigger_value
            elif binding_type == "durableClient":
                if self._client_binding is None:
                    raise RuntimeError(
                        f"{info.name}: durable client binding requested but no engine is running"
                    )
                kwargs[name] = self._client_binding()
            elif binding_type == "blob" and direction == "IN" and self._blob_bindings is not None:
                annotation = parameter_annotation(user_function, name)
                kwargs[name] = await self._blob_bindings.read(binding, metadata or {}, annotation)
            elif direction == "OUT":
                outputs[name] = OutputValue()
                kwargs[name] = outputs[name]
            elif extra_inputs and name in extra_inputs:
                kwargs[name] = extra_inputs[name]
            else:
                # Inputs other than blob and the durable client (table, Cosmos DB...) are not emulated; the
                # function sees None, as the worker passes for a missing optional input.
                if (info.name, binding_type) not in self._warned_unsupported:
                    self._warned_unsupported.add((info.name, binding_type))
                    LOGGER.warning(
                        "%s: input binding %r (%s) is not emulated; passing None",
                        info.name,
                        name,
                        binding_type,
                    )
                kwargs[name] = None
        if "context" in parameters and "context" not in kwargs:
            kwargs["context"] = InvocationContext(info.name, self._app_dir)

        with self.function_time.measure(info.name):
            if inspect.iscoroutinefunction(user_function):
                return_value = await user_function(**kwargs)
            else:
                loop = asyncio.get_running_loop()
                call = functools.partial(contextvars.copy_context().run, user_function, **kwargs)
                return_value = await loop.run_in_executor(self._executor, call)
                if inspect.isawaitable(return_value):
                    return_value = await return_value
        produced = {name: out.get() for name, out in outputs.items() if out.was_set}
        if self._blob_bindings is not None:
            for binding in info.bindings:
                name = str(binding.get("name", ""))
                if binding.get("type") != "blob" or str(binding.get("direction", "")).upper() != "OUT":
                    continue
                if name in produced:
                    await self._blob_bindings.write(binding, metadata or {}, produced[name])
                elif name == RETURN_BINDING:
                    await self._blob_bindings.write(binding, metadata or {}, return_value)
        return InvocationResult(return_value=return_value, outputs=produced)
