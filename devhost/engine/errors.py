"""The engine's exceptions, and the named windows (fault points) where tests make a round fail."""

from __future__ import annotations


class EngineError(Exception):
    """Base of the errors the engine reports to API callers; ``status`` is the HTTP status that fits."""

    status = 400


class InstanceNotFoundError(EngineError):
    """No instance with that id."""

    status = 404


class InstanceGoneError(EngineError):
    """The instance already completed, failed or was terminated."""

    status = 410


class InstanceExistsError(EngineError):
    """An instance with that id is still running (Azure refuses to start it again)."""

    status = 409


class UnknownFunctionError(EngineError):
    """No function of the required trigger type with that name."""

    status = 404


class NotSupportedError(EngineError):
    """An operation devhost does not implement."""

    status = 501


class RoundFailedError(EngineError):
    """The round that carried a caller's change failed; nothing of it was kept and it may be sent again."""

    status = 503


class EngineUnavailableError(EngineError):
    """The engine stopped serving: a change failed and the store could not be read back."""

    status = 503


# Named windows where a round can fail half-way, for tests that force a failure at the exact point
# (``Engine.fault_hook`` is called with the name and may raise):
FAULT_ROUND_AFTER_COMMANDS = "round.after_commands"  # API commands have changed memory, no episode ran yet
FAULT_ROUND_AFTER_EPISODES = "round.after_episodes"  # every episode of the round has changed memory
FAULT_COMMIT = "store.commit"  # inside the round's transaction, after its first writes, before COMMIT
FAULT_RELOAD = "engine.reload"  # reading the store back after a failed round
FAULT_POINTS = (FAULT_ROUND_AFTER_COMMANDS, FAULT_ROUND_AFTER_EPISODES, FAULT_COMMIT, FAULT_RELOAD)


class InvalidContinuationTokenError(EngineError):
    """A continuation token this engine did not hand out."""

    status = 400
