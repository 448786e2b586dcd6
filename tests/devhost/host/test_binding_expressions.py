"""Binding expressions in blob binding paths."""

import re

import pytest

from devhost.blob_bindings import BindingExpressionError, resolve_path


def test_trigger_values_fill_the_path_case_insensitively() -> None:
    assert resolve_path("out/{Job}/{name}.txt", {"job": "j1", "name": "cv"}) == "out/j1/cv.txt"


def test_query_values_are_addressed_with_the_query_prefix() -> None:
    assert resolve_path("out/{Query.id}", {"Query.id": "42"}) == "out/42"


def test_rand_guid_is_fresh_each_time() -> None:
    first, second = resolve_path("out/{rand-guid}", {}), resolve_path("out/{rand-guid}", {})
    assert re.fullmatch(r"out/[0-9a-f-]{36}", first)
    assert first != second


def test_datetime_expression() -> None:
    assert re.fullmatch(r"logs/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z", resolve_path("logs/{DateTime}", {}))


def test_missing_value_is_an_error() -> None:
    with pytest.raises(BindingExpressionError):
        resolve_path("out/{nope}", {})
