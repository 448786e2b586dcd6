"""A small JSON Schema toolkit for the subset OpenAI structured outputs accept.

Strict mode restricts schemas to `type` (incl. type lists), `properties`, `required`, `additionalProperties`,
`items`, `enum`, `const`, `anyOf`, `$ref`/`$defs` (pydantic nests models that way), plus a few bounds. The
emulator must never return output that violates the requested schema, so it both fills values for a schema and
validates the result before answering, with the `jsonschema` library (Draft 2020-12, formats checked).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema.exceptions
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

JsonSchema = Mapping[str, Any]

_MAX_REF_DEPTH = 32
_VALIDATOR_CACHE_SIZE = 64
_VALIDATORS: dict[str, Draft202012Validator] = {}


class SchemaError(ValueError):
    """The schema itself cannot be followed (a dangling `$ref`, endless recursion)."""


def resolve(schema: JsonSchema, root: JsonSchema) -> JsonSchema:
    """Follow `$ref` pointers (local `#/...` only, as OpenAI requires) until a concrete schema is reached."""
    seen = 0
    while "$ref" in schema:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaError(f"only local $ref pointers are supported, got {ref!r}")
        target: Any = root
        for part in [p for p in ref[1:].split("/") if p]:
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or key not in target:
                raise SchemaError(f"$ref {ref!r} points nowhere")
            target = target[key]
        if not isinstance(target, Mapping):
            raise SchemaError(f"$ref {ref!r} does not point to a schema")
        schema = target
        seen += 1
        if seen > _MAX_REF_DEPTH:
            raise SchemaError(f"$ref {ref!r} never resolves")
    return schema


def schema_types(schema: JsonSchema) -> list[str]:
    """Return the JSON types a schema allows, in declaration order (empty list: any type)."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    if "enum" in schema or "const" in schema:
        return []
    if "properties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    return []


def _root_validator(root: JsonSchema) -> Draft202012Validator:
    """One validator per root schema: `$ref`s in any of its sub-schemas resolve against the root."""
    key = json.dumps(root, sort_keys=True, default=str)
    validator = _VALIDATORS.get(key)
    if validator is None:
        validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
        if len(_VALIDATORS) >= _VALIDATOR_CACHE_SIZE:
            _VALIDATORS.pop(next(iter(_VALIDATORS)))
        _VALIDATORS[key] = validator
    return validator


def validate(value: Any, schema: JsonSchema, root: JsonSchema | None = None) -> list[str]:
    """Return every violation of `schema` by `value` (empty list: valid), as `jsonschema` reports them.

    `schema` may be a sub-schema of `root` (its `$ref`s then point into `root`). Raises `SchemaError` when the
    schema itself cannot be followed.
    """
    validator: Validator = _root_validator(schema if root is None else root)
    if root is not None and schema is not root:
        validator = validator.evolve(schema=schema)
    try:
        errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    except (Unresolvable, jsonschema.exceptions.SchemaError, jsonschema.exceptions.UnknownType) as error:
        raise SchemaError(str(error).splitlines()[0]) from error
    return [f"{error.json_path}: {error.message}" for error in errors]


def _number_in_bounds(schema: JsonSchema, preferred: float) -> float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value = preferred
    if low is not None and value <= low:
        value = float(low) + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if high is not None and value >= high:
        value = float(high) - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
    return value


def _string_for(name: str, schema: JsonSchema) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2025-01-01T00:00:00Z"
    if fmt == "date":
        return "2025-01-01"
    if fmt == "email":
        return "someone@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com/"
    if fmt == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    text = f"emulated {name}".strip() if name else "emulated value"
    min_length = int(schema.get("minLength", 0))
    if len(text) < min_length:
        text = text + "." * (min_length - len(text))
    if "maxLength" in schema:
        text = text[: int(schema["maxLength"])]
    return text


def generate(schema: JsonSchema, root: JsonSchema | None = None, name: str = "", depth: int = 0) -> Any:
    """Produce a deterministic, valid value for `schema`; `name` (the property name) flavours strings."""
    root = schema if root is None else root
    schema = resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "anyOf" in schema:
        branches = [resolve(b, root) for b in schema["anyOf"]]
        # Prefer a concrete branch over null so the output says something; past a depth, stop recursing.
        concrete = [b for b in branches if schema_types(b) != ["null"]]
        nullable = [b for b in branches if schema_types(b) == ["null"]]
        if depth > 6 and nullable:
            return None
        return generate((concrete or branches)[0], root, name, depth + 1)
    types = schema_types(schema)
    json_type = next((t for t in types if t != "null"), types[0] if types else "string")
    if json_type == "null":
        return None
    if depth > 8 and "null" in types:
        return None
    if json_type == "object":
        properties: Mapping[str, Any] = schema.get("properties", {})
        return {prop: generate(sub, root, prop, depth + 1) for prop, sub in properties.items()}
    if json_type == "array":
        items = schema.get("items")
        count = max(int(schema.get("minItems", 1 if depth < 6 else 0)), 0)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        if not isinstance(items, Mapping):
            return [f"emulated {name}"] * count if count else []
        return [generate(items, root, name, depth + 1) for _ in range(count)]
    if json_type == "integer":
        return int(_number_in_bounds(schema, 1))
    if json_type == "number":
        return _number_in_bounds(schema, 1.0)
    if json_type == "boolean":
        return True
    return _string_for(name, schema)


def conform(
    value: Any, schema: JsonSchema, root: JsonSchema | None = None, name: str = "", depth: int = 0
) -> Any:
    """Shape a natural value into `schema`: keep what fits, convert what can be converted, generate the rest.

    The brain computes plain dicts for the tasks it knows; the caller's schema may differ a little from the
    contract (an extra field, a field made nullable), so the answer is fitted to the schema actually
    requested.
    """
    root = schema if root is None else root
    schema = resolve(schema, root)
    if not validate(value, schema, root):
        return value
    if "anyOf" in schema:
        for branch in schema["anyOf"]:
            branch_schema = resolve(branch, root)
            if value is None and schema_types(branch_schema) == ["null"]:
                return None
        for branch in schema["anyOf"]:
            branch_schema = resolve(branch, root)
            if schema_types(branch_schema) == ["null"]:
                continue
            candidate = conform(value, branch_schema, root, name, depth + 1)
            if not validate(candidate, branch_schema, root):
                return candidate
        return generate(schema, root, name, depth)
    types = schema_types(schema)
    if value is None and "null" in types:
        return None
    if "object" in types and isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        shaped = {
            prop: conform(value[prop], sub, root, prop, depth + 1)
            if prop in value
            else generate(sub, root, prop, depth + 1)
            for prop, sub in properties.items()
        }
        if schema.get("additionalProperties") not in (False, None) or (
            not properties and schema.get("additionalProperties") is not False
        ):
            shaped.update({k: v for k, v in value.items() if k not in properties})
        return shaped
    if "array" in types and isinstance(value, list):
        items = schema.get("items")
        shaped_items = (
            [conform(item, items, root, name, depth + 1) for item in value]
            if isinstance(items, Mapping)
            else list(value)
        )
        if "maxItems" in schema:
            shaped_items = shaped_items[: int(schema["maxItems"])]
        while "minItems" in schema and len(shaped_items) < int(schema["minItems"]):
            shaped_items.append(generate(items or {}, root, name, depth + 1))
        return shaped_items
    if "string" in types and value is not None and not isinstance(value, dict | list):
        text = str(value)
        if not validate(text, schema, root):
            return text
    if ("number" in types or "integer" in types) and isinstance(value, int | float | str):
        try:
            number = float(value)
        except ValueError:
            number = 1.0
        number = _number_in_bounds(schema, number)
        shaped_number: Any = round(number) if "integer" in types and "number" not in types else number
        if not validate(shaped_number, schema, root):
            return shaped_number
    if schema.get("enum") and isinstance(value, str):
        lowered = value.lower()
        for option in schema["enum"]:
            if isinstance(option, str) and option.lower() == lowered:
                return option
    return generate(schema, root, name, depth)


def strict_mode_problems(schema: JsonSchema, root: JsonSchema | None = None) -> list[str]:
    """List where `schema` breaks OpenAI's strict-mode rules, in the service's own wording.

    Strict mode demands that every object lists all its properties in `required` and sets
    `additionalProperties: false`; the service refuses the request otherwise, so the emulator does too.
    """
    root = schema if root is None else root
    problems: list[str] = []
    seen: set[int] = set()

    def visit(node: Any, context: tuple[str, ...]) -> None:
        if not isinstance(node, Mapping) or id(node) in seen:
            return
        seen.add(id(node))
        where = f"context=({', '.join(repr(c) for c in context)})"
        if "$ref" in node:
            try:
                visit(resolve(node, root), context)
            except SchemaError as error:
                problems.append(f"In {where}, {error}.")
            return
        properties = node.get("properties")
        if "object" in schema_types(node) or isinstance(properties, Mapping):
            if node.get("additionalProperties") is not False:
                problems.append(
                    f"In {where}, 'additionalProperties' is required to be supplied and to be false."
                )
            missing = [name for name in (properties or {}) if name not in (node.get("required") or [])]
            if missing:
                problems.append(
                    f"In {where}, 'required' is required to be supplied and to be an array including every "
                    f"key in properties. Missing '{missing[0]}'."
                )
            for name, sub in (properties or {}).items():
                visit(sub, (*context, "properties", name))
        if isinstance(node.get("items"), Mapping):
            visit(node["items"], (*context, "items"))
        for keyword in ("anyOf", "allOf", "oneOf"):
            for index, branch in enumerate(node.get(keyword) or []):
                visit(branch, (*context, keyword, str(index)))
        for name, sub in (node.get("$defs") or {}).items():
            visit(sub, ("$defs", name))

    visit(schema, ())
    return problems
