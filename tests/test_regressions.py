"""Odd inputs that once reached an unhandled exception; each now gets a Data API error and
changes nothing."""

from __future__ import annotations

import base64
import json

import pytest

from conftest import code


def page(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


@pytest.fixture
def c(vcoll):
    vcoll.insert_one({"_id": 1, "d": {"$date": 5}, "n": 1e308, "$vector": [1, 0, 0]})
    return vcoll


@pytest.mark.parametrize("command, expected", [
    ({"find": {"filter": {"d": {"$gt": {"$date": "x"}}}}}, "INVALID_FILTER_EXPRESSION"),
    ({"updateOne": {"filter": {}, "update": {"$min": {"d": {"$date": "x"}}}}},
     "UNSUPPORTED_UPDATE_OPERATION_PARAM"),
    ({"insertOne": {"document": {"$vector": [10**400, 1, 2]}}}, "SHRED_BAD_VECTOR_VALUE"),
    ({"find": {"sort": {"$vector": [10**400, 1, 2]}}}, "SHRED_BAD_VECTOR_VALUE"),
    ({"find": {"options": {"pageState": page({"k": "find"})}}}, "COMMAND_FIELD_VALUE_INVALID"),
    ({"find": {"sort": {"$vector": [1, 0, 0]},
               "options": {"pageState": page({"k": "find", "offset": "x"})}}},
     "COMMAND_FIELD_VALUE_INVALID"),
    ({"updateMany": {"filter": {}, "update": {"$set": {"a": 1}},
                     "options": {"pageState": page({"k": "updateMany"})}}},
     "COMMAND_FIELD_VALUE_INVALID"),
    ({"updateOne": {"filter": {}, "update": {"$inc": {"n": 10**400}}}},
     "UNSUPPORTED_UPDATE_OPERATION_PARAM"),
    ({"updateOne": {"filter": {}, "update": {"$mul": {"n": 10}}}},
     "UNSUPPORTED_UPDATE_OPERATION_PARAM"),
    ({"updateOne": {"filter": {"a": 1, "a.b": 2}, "update": {"$set": {"z": 1}},
                    "options": {"upsert": True}}}, "INVALID_FILTER_EXPRESSION"),
    ({"updateOne": {"filter": {}, "update": {"$set": {"x": float("nan")}}}},
     "UNSUPPORTED_UPDATE_OPERATION_PARAM"),
    ({"updateOne": {"filter": {}, "update": {"$push": {"x": float("inf")}}}},
     "UNSUPPORTED_UPDATE_OPERATION_PARAM"),
    ({"updateOne": {"filter": {"q": float("nan")}, "update": {"$set": {"z": 1}},
                    "options": {"upsert": True}}}, "INVALID_FILTER_EXPRESSION"),
    ({"find": {"filter": {"t": {"$size": float("nan")}}}}, "INVALID_FILTER_EXPRESSION"),
    ({"find": {"filter": {"t": {"$size": float("inf")}}}}, "INVALID_FILTER_EXPRESSION"),
])
def test_odd_inputs_get_data_api_errors(c, command, expected):
    before = c.find({}, projection={"*": 1}).to_list()
    assert code(c.command(command)) == expected
    assert c.find({}, projection={"*": 1}).to_list() == before
