"""Durable entity episodes (operations in a batch against the entity's state) and one-way signals."""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from devhost.engine.errors import UnknownFunctionError
from devhost.engine.events import EVENT_RAISED, _event, _iso
from devhost.engine.records import EntityRecord, _Effects
from devhost.engine.settings import MAX_MESSAGES_PER_EPISODE
from devhost.store import Batch

if TYPE_CHECKING:
    from devhost.engine.core import Engine

logger = logging.getLogger("devhost.engine")

# ------------------------------------------------------------------ entities


def _entity(engine: Engine, entity_id: str) -> EntityRecord:
    record = engine._entities.get(entity_id)
    if record is None:
        name, _, key = entity_id[1:].partition("@")
        record = EntityRecord(entity_id, name, key)
        engine._entities[entity_id] = record
    return record


def _entity_episode(engine: Engine, entity_id: str, batch: Batch) -> None:
    record = _entity(engine, entity_id)
    messages = record.inbox[:MAX_MESSAGES_PER_EPISODE]
    del record.inbox[: len(messages)]
    if not messages:
        return
    for message in messages:
        batch.delete_inbox(message.msg_id)
    operations = [m.body for m in messages]
    function = engine.index.get(record.name, "entityTrigger")
    results: list[tuple[bool, str]]
    if function is None:
        failure = json.dumps(f"The entity function '{record.name}' doesn't exist.")
        results = [(True, failure)] * len(operations)
    else:
        batch_input = [
            {
                "name": op["op"],
                "input": json.dumps(op.get("input")) if op.get("input") is not None else "null",
            }
            for op in operations
        ]
        context = json.dumps(
            {
                "self": {"name": record.name, "key": record.key},
                "exists": record.exists,
                "state": record.state,
                "batch": batch_input,
            }
        )
        try:
            output = json.loads(function.user_function(context))
            record.exists = bool(output.get("entityExists"))
            state = output.get("entityState")
            record.state = state if record.exists else None
            results = [(bool(r.get("isError")), str(r.get("result"))) for r in output.get("results", [])]
        except Exception as error:
            logger.exception("entity %s failed", entity_id)
            results = [(True, json.dumps(str(error)))] * len(operations)
    record.updated = engine.clock.timestamp()
    batch.entities[entity_id] = record.row()
    timestamp = _iso(engine.clock.now())
    for operation, (is_error, result) in zip(operations, results, strict=False):
        parent = operation.get("parent")
        if operation.get("signal") or not parent:
            continue
        response: dict[str, Any] = {"result": result}
        if is_error:
            response["exceptionType"] = "Exception"
        event = _event(EVENT_RAISED, -1, timestamp, Name=operation["id"], Input=json.dumps(response))
        engine._send(parent, {"execution": operation.get("parent_execution"), "event": event}, batch)


async def signal_entity(
    engine: Engine, name: str, key: str, operation: str, input_json: str | None = None
) -> None:
    """Queue a one-way operation on entity ``name``/``key``."""
    info = engine.index.get(name, "entityTrigger")
    if info is None:
        raise UnknownFunctionError(f"No entity function named '{name}'.")
    entity_id = f"@{name.lower()}@{key}"

    def command(batch: Batch, effects: _Effects) -> None:
        body = {
            "op": operation,
            "input": input_json,
            "id": uuid.uuid4().hex,
            "signal": True,
            "parent": None,
        }
        engine._send(entity_id, body, batch)

    await engine._submit(command)


def read_entity_state(engine: Engine, name: str, key: str) -> tuple[bool, str | None]:
    """(exists, state JSON) of an entity."""
    record = engine._entities.get(f"@{name.lower()}@{key}")
    if record is None or not record.exists:
        return False, None
    return True, record.state
