"""Route templates as the Functions host (ASP.NET Core routing) reads them."""

import pytest

from devhost.http_triggers import RouteTemplate, RouteTemplateError


def test_plain_parameter_binds_one_segment() -> None:
    assert RouteTemplate("items/{id}").match("items/42") == {"id": "42"}
    assert RouteTemplate("items/{id}").match("items/42/more") is None


def test_int_constraint_rejects_text() -> None:
    template = RouteTemplate("items/{id:int}")
    assert template.match("items/7") == {"id": "7"}
    assert template.match("items/seven") is None


def test_literals_match_case_insensitively() -> None:
    assert RouteTemplate("Orders/{id}").match("orders/1") == {"id": "1"}


def test_optional_last_parameter_may_be_absent() -> None:
    template = RouteTemplate("orders/{id?}")
    assert template.match("orders") == {}
    assert template.match("orders/5") == {"id": "5"}


def test_default_value_fills_a_missing_parameter() -> None:
    assert RouteTemplate("pages/{page=1}").match("pages") == {"page": "1"}


def test_catch_all_takes_the_rest_including_slashes() -> None:
    assert RouteTemplate("files/{*path}").match("files/a/b/c.txt") == {"path": "a/b/c.txt"}
    assert RouteTemplate("files/{*path}").match("files") == {}


def test_parameter_values_are_url_decoded() -> None:
    assert RouteTemplate("people/{name}").match("people/Ana%20Lu") == {"name": "Ana Lu"}


def test_range_and_length_constraints() -> None:
    assert RouteTemplate("n/{n:range(1,10)}").match("n/10") == {"n": "10"}
    assert RouteTemplate("n/{n:range(1,10)}").match("n/11") is None
    assert RouteTemplate("c/{code:length(3)}").match("c/abcd") is None


def test_guid_constraint() -> None:
    template = RouteTemplate("x/{id:guid}")
    assert template.match("x/0f8fad5b-d9cb-469f-a165-70867728950e") is not None
    assert template.match("x/not-a-guid") is None


def test_literal_routes_take_precedence_over_parameters() -> None:
    literal, parameter = RouteTemplate("items/special"), RouteTemplate("items/{name}")
    assert literal.precedence < parameter.precedence


def test_unknown_constraint_is_an_error() -> None:
    with pytest.raises(RouteTemplateError):
        RouteTemplate("x/{id:nonsense}")
