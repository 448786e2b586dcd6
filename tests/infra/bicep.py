"""Read infra/ the way the tests need it: parsed Bicep (pycep) and the app settings and roles it declares."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"


def bicep_files() -> list[Path]:
    """Every Bicep file azd deploys (main and its modules)."""
    return sorted(INFRA.rglob("*.bicep"))


@functools.cache
def parse(relative: str) -> dict[str, Any]:
    """The pycep parse tree of ``infra/<relative>``."""
    parsed: dict[str, Any] = BicepParser().parse(file_path=INFRA / relative)
    return parsed


def object_keys(value: Any) -> set[str]:
    """Keys of a Bicep object literal, or of both branches of ``cond ? {...} : {...}``."""
    if isinstance(value, dict) and "operator" in value:
        operands = value["operator"]["operands"]
        if value["operator"]["type"] == "conditional":
            return object_keys(operands["true_value"]) | object_keys(operands["false_value"])
        raise AssertionError(f"not an object literal: {value!r}")
    assert isinstance(value, dict), value
    return set(value)


def app_settings() -> set[str]:
    """Every app setting the Function App gets: main.bicep's appSettings plus function-app.bicep's own."""
    module = parse("main.bicep")["modules"]["functionApp"]
    assert module["detail"]["path"] == "modules/function-app.bicep"
    names = object_keys(module["config"]["params"]["appSettings"])
    function_app = parse("modules/function-app.bicep")
    settings = function_app["resources"]["settings"]["config"]
    assert settings["parent"] == "site"
    assert settings["name"] == "appsettings"
    union = settings["properties"]["function"]
    assert union["type"] == "union"
    merged = list(union["parameters"].values())
    assert merged[0] == "appSettings", "the module's appSettings parameter must be part of the merge"
    for variable in merged[1:]:
        names |= object_keys(function_app["variables"][variable]["value"])
    return names


def role_assignments(relative: str = "modules/rbac.bicep") -> dict[str, tuple[str, str, str | None]]:
    """Role assignments of a module: symbol -> (role definition id, scope symbol, durable backend it needs).

    The backend is None for an unconditional assignment, else the ``durableBackend == '<value>'`` it is under.
    """
    module = parse(relative)
    role_ids: dict[str, str] = module["variables"]["roles"]["value"]
    assignments: dict[str, tuple[str, str, str | None]] = {}
    for symbol, resource in module["resources"].items():
        if resource["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        config = resource["config"]
        backend = None
        if "condition" in config:
            condition = config["condition"]["operator"]
            assert condition["type"] == "equals", condition
            assert condition["operands"]["operand_1"] == "durableBackend", condition
            backend = condition["operands"]["operand_2"]
            config = config["config"]
        definition = config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        accessor = definition["operator"]["operands"]
        assert accessor["operand_1"] == "roles", definition
        assignments[symbol] = (role_ids[accessor["operand_2"]], config["scope"], backend)
    return assignments
