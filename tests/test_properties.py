"""Property tests of the dispatcher: random commands, valid and invalid, at ``Collection.command``
and ``Database.command``.

Every answer must be a well-formed Data API envelope (never ``SERVER_UNHANDLED_ERROR``, which
means a bug), and a command that fails (errors, no status) must leave everything as it was.
Most generated clauses are valid or nearly so, so that commands get past the first check and
reach the deeper ones (and the store) often.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vectorize_kit import Workspace
from vectorize_kit.errors import CODES, DataAPIError

# hypothesis describes its (big) strategies when a recursive draw is retried: not our concern
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

DIM = 3

COLLECTION_COMMANDS = ["insertOne", "insertMany", "find", "findOne", "countDocuments",
                       "estimatedDocumentCount", "updateOne", "updateMany", "findOneAndUpdate",
                       "findOneAndReplace", "deleteOne", "deleteMany", "findOneAndDelete"]
DATABASE_COMMANDS = ["createCollection", "findCollections", "deleteCollection",
                     "createKeyspace", "dropKeyspace", "findKeyspaces"]
BOGUS_COMMANDS = ["", "bogus", "FIND", "find ", "$find", "updateAll", "countDocument"]
READS = {"find", "findOne", "countDocuments", "estimatedDocumentCount", "findCollections",
         "findKeyspaces"}


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy, k: int = 4) -> st.SearchStrategy:
    """``good`` about k times in k+1, else ``bad``."""
    return st.one_of(*[good] * k, bad)


# -- JSON values ------------------------------------------------------------------------------

SAFE_NAMES = st.sampled_from(["a", "b", "n", "s", "d", "tags", "sub", "x y", "é"])
FIELD_NAMES = st.one_of(
    SAFE_NAMES,
    st.sampled_from(["a.b", "sub.x", "tags.0", "a.0.b", "0", "a&.b", "_id", "$vector",
                     "$vectorize", "$lexical", "$x", "", "a..b", "sub.$y", "$date", "$uuid",
                     "a.", ".a"]),
    st.text(max_size=3),
)
PATHS = mostly(st.sampled_from(["a", "b", "n", "s", "d", "tags", "sub", "sub.x", "tags.0",
                                "_id", "x y", "sub.y.z"]), FIELD_NAMES, 3)

GOOD_EJSON = st.one_of(
    st.builds(lambda v: {"$date": v}, st.integers(-2**42, 2**42)),
    st.just({"$uuid": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}),
    st.just({"$objectId": "66b1c6f0a1b2c3d4e5f60718"}),
)
BAD_EJSON = st.one_of(
    st.builds(lambda v: {"$date": v}, st.one_of(st.text(max_size=2), st.none(),
                                                st.floats(-10, 10), st.booleans())),
    st.builds(lambda v: {"$uuid": v}, st.sampled_from(["0190A1B2C3D47E5F8A9B0C1D2E3F4A5B",
                                                       "not-a-uuid", ""])),
    st.builds(lambda v: {"$objectId": v}, st.sampled_from(["66B1C6F0A1B2C3D4E5F6071", "xyz"])),
    st.just({"$date": 1, "x": 2}),
)
# EJSON wrappers with good and bad values
EJSON = mostly(GOOD_EJSON, BAD_EJSON, 2)
# NaN and infinities are not JSON, but the Python API may be handed them (pandas makes them)
NUMBERS = st.one_of(
    st.integers(-3, 30),
    st.integers(-2**70, 2**70),
    st.floats(),
    st.sampled_from([0.5, -0.0, 1e308, -1e308, 5e-324, 1.0, 10**400, float("nan"),
                     float("inf")]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=6),
                    st.sampled_from(["", "red", "a", "$x"]))
JSON = st.recursive(
    st.one_of(SCALARS, EJSON),
    lambda kids: st.one_of(st.lists(kids, max_size=4),
                           st.dictionaries(FIELD_NAMES, kids, max_size=4)),
    max_leaves=8,
)
SAFE_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.text(max_size=4),
                         st.floats(-1e6, 1e6, allow_nan=False), GOOD_EJSON)
SAFE_JSON = st.recursive(
    SAFE_SCALARS,
    lambda kids: st.one_of(st.lists(kids, max_size=3),
                           st.dictionaries(SAFE_NAMES, kids, max_size=3)),
    max_leaves=6,
)

# -- vectors ------------------------------------------------------------------------------------

FLOAT32 = st.floats(-100, 100, width=32)


def _binary(values: list[float]) -> dict:
    return {"$binary": base64.b64encode(struct.pack(f">{len(values)}f", *values)).decode()}


GOOD_VECTORS = st.lists(st.floats(0.25, 8, width=32), min_size=DIM, max_size=DIM)
VECTORS = mostly(st.one_of(GOOD_VECTORS, GOOD_VECTORS.map(_binary)), st.one_of(
    st.lists(FLOAT32, max_size=DIM + 2),  # wrong length, or all zeros (cosine)
    st.just([0.0] * DIM),
    st.lists(FLOAT32, min_size=1, max_size=3).map(_binary),
    st.lists(st.one_of(FLOAT32, st.text(max_size=2), st.booleans(), st.none()),
             min_size=DIM, max_size=DIM),
    st.sampled_from([{"$binary": "!!notbase64"}, {"$binary": "AAA="}, {"$binary": 5},
                     {"$binary": "", "x": 1}, "text", 7, None, True, {}, [1e39, 1, 1]]),
), 2)

# -- documents -------------------------------------------------------------------------------

GOOD_IDS = st.one_of(st.integers(0, 12), st.sampled_from(["a", "b", "k1"]), GOOD_EJSON)
IDS = mostly(GOOD_IDS, st.one_of(
    st.sampled_from(["", None, True, 1.0, 2.5, -1]), EJSON, st.lists(st.integers(), max_size=2),
    st.dictionaries(FIELD_NAMES, SCALARS, max_size=2)), 2)

GOOD_FIELDS = st.fixed_dictionaries({}, optional={
    "a": SAFE_JSON, "b": SAFE_SCALARS,
    "n": st.one_of(st.integers(-5, 30), st.floats(-1e3, 1e3), st.sampled_from([1e300, -1e300])),
    "s": st.text(max_size=5), "d": GOOD_EJSON,
    "tags": st.lists(SAFE_SCALARS, max_size=4),
    "sub": st.fixed_dictionaries({}, optional={"x": SAFE_SCALARS, "y": SAFE_JSON}),
})
GOOD_DOCUMENTS = st.builds(
    lambda fields, extra: {**extra, **fields},
    GOOD_FIELDS,
    st.fixed_dictionaries({"_id": GOOD_IDS}, optional={"$vector": GOOD_VECTORS}),
)
DOCUMENTS = st.builds(
    lambda fields, extra, more: {**extra, **fields, **more},
    GOOD_FIELDS,
    st.fixed_dictionaries({}, optional={"_id": IDS, "$vector": VECTORS,
                                        "$vectorize": st.one_of(st.text(max_size=5), JSON)}),
    st.dictionaries(FIELD_NAMES, JSON, max_size=2),
)
# documents to start from, with distinct ids
SEED_DOCUMENTS = st.builds(
    lambda ids, docs: [{"_id": i, **d} for i, d in zip(ids, docs)],
    st.permutations([0, 1, 2, 3, 4, 5, 6, 7, 8, "a", "b", {"$date": 5}]),
    st.lists(st.builds(lambda fields, vector: {**fields, **vector}, GOOD_FIELDS,
                       st.fixed_dictionaries({}, optional={"$vector": GOOD_VECTORS})),
             max_size=8),
)
ANY_DOCUMENT = mostly(GOOD_DOCUMENTS, st.one_of(DOCUMENTS, DOCUMENTS, JSON), 2)

# -- filters ---------------------------------------------------------------------------------

COMPARABLE = st.one_of(NUMBERS, st.text(max_size=3), st.booleans(), EJSON)
OPERATIONS = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne"]), st.one_of(SAFE_JSON, JSON, IDS)),
    st.tuples(st.sampled_from(["$in", "$nin", "$all"]), st.lists(st.one_of(SAFE_SCALARS, IDS),
                                                                  max_size=4)),
    st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), COMPARABLE),
    st.tuples(st.just("$exists"), st.booleans()),
    st.tuples(st.just("$size"), st.integers(0, 4)),
)
BAD_OPERATIONS = st.one_of(
    st.tuples(st.sampled_from(["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte",
                               "$exists", "$all", "$size"]), JSON),
    st.tuples(st.sampled_from(["$regex", "$elemMatch", "$foo", "$and", "$not", "eq", ""]), JSON),
    st.tuples(st.just("$size"), st.sampled_from([-1, 1.5, 2.0, True, "2"])),
    st.tuples(st.just("$in"), st.lists(st.integers(), min_size=101, max_size=101)),
)
CONDITIONS = mostly(
    st.one_of(SAFE_SCALARS, GOOD_IDS, st.lists(OPERATIONS, min_size=1, max_size=2).map(dict)),
    st.one_of(JSON, st.lists(st.one_of(OPERATIONS, BAD_OPERATIONS), min_size=1,
                             max_size=2).map(dict),
              st.builds(lambda op, k, v: {op[0]: op[1], k: v}, OPERATIONS, SAFE_NAMES, JSON)),
    3,
)
FIELD_FILTERS = st.one_of(
    st.dictionaries(PATHS, CONDITIONS, max_size=3),
    st.builds(lambda i: {"_id": i}, IDS),
    st.builds(lambda ids: {"_id": {"$in": ids}}, st.lists(IDS, max_size=4)),
    st.builds(lambda b: {"$vector": {"$exists": b}}, st.booleans()),
)
FILTERS = st.recursive(
    FIELD_FILTERS,
    lambda kids: mostly(
        st.one_of(
            st.builds(lambda k: {"$and": k}, st.lists(kids, min_size=1, max_size=3)),
            st.builds(lambda k: {"$or": k}, st.lists(kids, min_size=1, max_size=3)),
            st.builds(lambda k: {"$not": k}, kids),
            st.builds(lambda a, b: {**a, **b}, kids, kids),
        ),
        st.dictionaries(st.sampled_from(["$and", "$or", "$not", "$nor", "$x"]),
                        st.one_of(kids, st.lists(kids, max_size=2), JSON), max_size=2),
        3,
    ),
    max_leaves=5,
)
ANY_FILTER = mostly(FILTERS, JSON, 6)

# -- projections and sorts -------------------------------------------------------------------

SLICES = mostly(st.one_of(st.integers(-3, 3), st.lists(st.integers(-3, 3), min_size=2,
                                                       max_size=2)), JSON, 3)
PROJECTIONS = mostly(
    st.one_of(
        st.sampled_from([{}, {"*": 1}, {"*": 0}, {"$vector": 1}, {"_id": 0}, {"$vector": 0},
                         {"a": 1, "$vector": 1}]),
        st.builds(lambda paths, flag, idf: {**dict.fromkeys(paths, flag), **idf},
                  st.lists(PATHS, max_size=3, unique=True), st.sampled_from([0, 1, True, False]),
                  st.sampled_from([{}, {"_id": 0}, {"_id": 1}])),
        st.builds(lambda p, s: {p: {"$slice": s}}, PATHS, SLICES),
    ),
    st.one_of(
        st.dictionaries(st.one_of(FIELD_NAMES, st.just("*")),
                        st.one_of(st.sampled_from([0, 1, 2, -1, 0.5, "x", None, [], {}]),
                                  st.dictionaries(st.sampled_from(["$slice", "$foo", "a"]),
                                                  JSON, min_size=1, max_size=2)),
                        max_size=3),
        st.sampled_from([{"a": 1, "b": 0}, {"a": 1, "a.b": 1}, {"*": 1, "a": 1}]),
        JSON,
    ),
)
SORTS = mostly(
    st.one_of(
        st.just({}),
        st.dictionaries(PATHS, st.sampled_from([1, -1]), min_size=1, max_size=2),
        st.builds(lambda v: {"$vector": v}, VECTORS),
    ),
    st.one_of(
        st.dictionaries(FIELD_NAMES, st.sampled_from([1, -1, 0, 2, "asc", True, None, 1.0, [1]]),
                        max_size=2),
        st.builds(lambda t: {"$vectorize": t}, st.one_of(st.text(max_size=4), JSON)),
        st.builds(lambda v: {"$vector": v, "a": 1}, GOOD_VECTORS),
        JSON,
    ),
)

# -- updates ---------------------------------------------------------------------------------

UPDATE_ARGS = {
    "$set": SAFE_JSON, "$setOnInsert": SAFE_JSON, "$unset": st.sampled_from(["", 1, True]),
    "$inc": NUMBERS, "$mul": NUMBERS, "$min": COMPARABLE, "$max": COMPARABLE,
    "$rename": st.one_of(PATHS, SAFE_NAMES.map(lambda n: n + "2")),
    "$push": st.one_of(SAFE_JSON, st.builds(
        lambda items, pos: {"$each": items, **({} if pos is None else {"$position": pos})},
        st.lists(SAFE_SCALARS, max_size=3), st.one_of(st.none(), st.integers(-3, 3)))),
    "$addToSet": st.one_of(SAFE_JSON, st.builds(lambda items: {"$each": items},
                                                st.lists(SAFE_SCALARS, max_size=3))),
    "$pop": st.sampled_from([1, -1]),
    "$currentDate": st.sampled_from([True, {"$type": "date"}]),
}
OPERATORS = sorted(UPDATE_ARGS)
GOOD_UPDATES = st.one_of(
    *[st.builds(lambda op, paths: {op: paths}, st.just(op),
                st.dictionaries(PATHS, arg, min_size=1, max_size=2))
      for op, arg in UPDATE_ARGS.items()],
    st.builds(lambda a, b: {**a, **b},
              st.builds(lambda f: {"$set": f}, st.dictionaries(SAFE_NAMES, SAFE_JSON, max_size=2)),
              st.builds(lambda n: {"$inc": {"n": n}}, NUMBERS)),
    st.builds(lambda v: {"$set": {"$vector": v}}, VECTORS),
    st.builds(lambda v: {"$setOnInsert": {"$vector": v, "_id": 99}}, VECTORS),
    st.just({"$unset": {"$vector": 1}}),
    st.builds(lambda t: {"$set": {"$vectorize": t}}, st.one_of(st.text(max_size=4), JSON)),
)
BAD_UPDATES = st.one_of(
    st.dictionaries(st.sampled_from(OPERATORS + ["$pullAll", "$pull", "$foo", "set", ""]),
                    st.one_of(st.dictionaries(FIELD_NAMES, JSON, max_size=3), JSON), max_size=3),
    st.builds(lambda op, p: {op: {p: 1}}, st.sampled_from(OPERATORS),
              st.sampled_from(["_id", "$vector", "$vectorize", "", "a.$b", "a..b"])),
    st.builds(lambda a, b: {"$set": {a: 1}, "$unset": {b: 1}}, PATHS, PATHS),
    JSON,
)
UPDATES = mostly(GOOD_UPDATES, BAD_UPDATES, 3)


def _page_state(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


PAGE_STATES = st.one_of(
    st.builds(_page_state, st.fixed_dictionaries(
        {"k": st.sampled_from(["find", "updateMany", "x"])},
        optional={"after": st.one_of(st.integers(-1, 40), JSON),
                  "n": st.one_of(st.integers(0, 40), JSON),
                  "offset": st.one_of(st.integers(0, 40), JSON)})),
    st.sampled_from(["", "abc", "!!", _page_state({"k": "other"})]),
    JSON,
)
# a value for each option: mostly of the right type, sometimes anything
OPTION_VALUES = {
    "limit": st.one_of(st.integers(-1, 25), st.just(5000), JSON),
    "skip": st.one_of(st.integers(-1, 10), JSON),
    "includeSimilarity": st.one_of(st.booleans(), JSON),
    "includeSortVector": st.one_of(st.booleans(), JSON),
    "pageState": PAGE_STATES,
    "upsert": st.one_of(st.booleans(), st.booleans(), JSON),
    "returnDocument": st.one_of(st.sampled_from(["before", "after", "AFTER"]), JSON),
    "ordered": st.one_of(st.booleans(), JSON),
    "returnDocumentResponses": st.one_of(st.booleans(), JSON),
    "explain": st.one_of(st.booleans(), JSON),
    "bogus": JSON,
}
COMMAND_FIELDS = {
    "insertOne": ("document",),
    "insertMany": ("documents", "options"),
    "find": ("filter", "projection", "sort", "options"),
    "findOne": ("filter", "projection", "sort", "options"),
    "countDocuments": ("filter",),
    "estimatedDocumentCount": (),
    "updateOne": ("filter", "update", "sort", "options"),
    "updateMany": ("filter", "update", "options"),
    "findOneAndUpdate": ("filter", "update", "sort", "projection", "options"),
    "findOneAndReplace": ("filter", "replacement", "sort", "projection", "options"),
    "deleteOne": ("filter", "sort"),
    "deleteMany": ("filter",),
    "findOneAndDelete": ("filter", "sort", "projection"),
}
REQUIRED_FIELD = {"insertOne": "document", "insertMany": "documents", "updateOne": "update",
                  "updateMany": "update", "findOneAndUpdate": "update",
                  "findOneAndReplace": "replacement"}
COMMAND_OPTIONS = {
    "insertMany": ("ordered", "returnDocumentResponses"),
    "find": ("limit", "skip", "includeSimilarity", "includeSortVector", "pageState"),
    "findOne": ("includeSimilarity", "includeSortVector"),
    "updateOne": ("upsert",),
    "updateMany": ("upsert", "pageState"),
    "findOneAndUpdate": ("upsert", "returnDocument"),
    "findOneAndReplace": ("upsert", "returnDocument"),
}


def _options(names: tuple[str, ...]) -> st.SearchStrategy:
    known = st.fixed_dictionaries({}, optional={n: OPTION_VALUES[n] for n in names})
    odd = st.dictionaries(st.sampled_from(sorted(OPTION_VALUES)),
                          st.one_of(*OPTION_VALUES.values()), max_size=2)
    return mostly(known, st.one_of(odd, JSON), 6)


FIELD_STRATEGIES = {
    "filter": ANY_FILTER, "sort": SORTS, "projection": PROJECTIONS, "update": UPDATES,
    "replacement": ANY_DOCUMENT, "document": ANY_DOCUMENT,
    "documents": st.one_of(st.lists(ANY_DOCUMENT, max_size=4), st.lists(ANY_DOCUMENT, max_size=4),
                           JSON),
}


def _with_odd_field(body: st.SearchStrategy, names: list[str]) -> st.SearchStrategy:
    """``body``, or now and then ``body`` with a field it does not take, or not an object."""
    odd = st.builds(lambda b, extra: {**b, **extra}, body,
                    st.dictionaries(st.sampled_from(names), JSON, min_size=1, max_size=1))
    return mostly(body, st.one_of(odd, JSON), 8)


def _collection_body(name: str) -> st.SearchStrategy:
    fields = {f: (_options(COMMAND_OPTIONS.get(name, ())) if f == "options"
                  else FIELD_STRATEGIES[f]) for f in COMMAND_FIELDS[name]}
    required = REQUIRED_FIELD.get(name)
    mandatory = {required: fields.pop(required)} if required else {}
    body = st.fixed_dictionaries(mandatory, optional=fields)
    return _with_odd_field(body, ["filter", "update", "document", "sort", "bogus"])


def _shape(name: str, body: Any, shape: str) -> Any:
    if shape == "plain":
        return {name: body}
    if shape == "null-body":
        return {name: None}
    if shape == "two":
        return {name: body, "otherCommand": {}}
    if shape == "empty":
        return {}
    return body  # the body alone: perhaps not an object at all


SHAPES = st.sampled_from(["plain"] * 50 + ["null-body", "two", "empty", "bare"])
OTHER_BODIES = st.one_of(
    st.fixed_dictionaries({}, optional={"filter": ANY_FILTER, "name": st.just("c"),
                                        "document": GOOD_DOCUMENTS}),
    JSON,
)
COLLECTION_CMDS = st.one_of(
    *[st.builds(_shape, st.just(name), _collection_body(name), SHAPES)
      for name in COLLECTION_COMMANDS],
    st.builds(_shape, st.sampled_from(BOGUS_COMMANDS + DATABASE_COMMANDS), OTHER_BODIES, SHAPES),
)

# -- database commands ---------------------------------------------------------------------

COLLECTION_OPTIONS = st.one_of(
    st.fixed_dictionaries({}, optional={
        "vector": st.one_of(
            st.fixed_dictionaries({}, optional={
                "dimension": st.one_of(st.integers(-1, 5), st.just(5000), JSON),
                "metric": st.sampled_from(["cosine", "euclidean", "dot_product", "l2", 3]),
                "sourceModel": st.sampled_from(["other", "openai-v3-small", "nope"]),
                "service": st.one_of(st.just({"provider": "openai", "modelName": "m"}), JSON),
                "size": st.integers(1, 4), "bogus": JSON}),
            JSON),
        "indexing": st.one_of(
            st.dictionaries(st.sampled_from(["allow", "deny", "other"]),
                            st.one_of(st.lists(FIELD_NAMES, max_size=3), JSON), max_size=2),
            JSON),
        "defaultId": st.one_of(
            st.builds(lambda t: {"type": t},
                      st.sampled_from(["uuid", "uuidv6", "uuidv7", "objectId", "bad"])),
            JSON),
        "lexical": JSON, "rerank": JSON,
    }),
    JSON,
)
COLLECTION_NAMES = st.one_of(
    st.sampled_from(["c", "plain", "svc", "d", "e_2", "", "bad name", "x" * 49, "é"]), JSON)
KEYSPACE_NAMES = st.one_of(
    st.sampled_from(["ks2", "ks2", "ks3", "", "bad-name", "x" * 49, "default_keyspace"]), JSON)
DATABASE_BODIES = {
    "createCollection": st.fixed_dictionaries({"name": COLLECTION_NAMES},
                                              optional={"options": COLLECTION_OPTIONS}),
    "findCollections": st.fixed_dictionaries({}, optional={"options": _options(("explain",))}),
    "deleteCollection": st.fixed_dictionaries({}, optional={"name": COLLECTION_NAMES}),
    "createKeyspace": st.fixed_dictionaries({}, optional={"name": KEYSPACE_NAMES,
                                                          "options": JSON}),
    "dropKeyspace": st.fixed_dictionaries({}, optional={"name": KEYSPACE_NAMES}),
    "findKeyspaces": st.just({}),
}
DATABASE_CMDS = st.one_of(
    *[st.builds(_shape, st.just(name), _with_odd_field(body, ["options", "name", "bogus"]),
                SHAPES)
      for name, body in DATABASE_BODIES.items()],
    st.builds(_shape, st.sampled_from(BOGUS_COMMANDS + COLLECTION_COMMANDS), OTHER_BODIES,
              SHAPES),
)
KEYSPACES = st.sampled_from([None, None, None, "default_keyspace", "ks2", "nope", ""])

COLLECTIONS = st.sampled_from(["c", "c", "c", "plain", "svc"])
STEPS = st.one_of(
    st.tuples(st.just("collection"), COLLECTIONS, COLLECTION_CMDS),
    st.tuples(st.just("collection"), COLLECTIONS, COLLECTION_CMDS),
    st.tuples(st.just("collection"), COLLECTIONS, COLLECTION_CMDS),
    st.tuples(st.just("database"), KEYSPACES, DATABASE_CMDS),
)

# -- checks ----------------------------------------------------------------------------------

ERROR_KEYS = {"id", "family", "scope", "errorCode", "title", "message"}


def check_envelope(answer: Any, command: Any) -> None:
    assert isinstance(answer, dict)
    assert answer, "an empty envelope"
    assert set(answer) <= {"status", "data", "errors"}
    json.dumps(answer, allow_nan=False)  # the envelope is JSON
    if "status" in answer:
        assert isinstance(answer["status"], dict) and answer["status"]
    if "data" in answer:
        assert isinstance(answer["data"], dict)
    if "errors" in answer:
        assert isinstance(answer["errors"], list) and answer["errors"]
        for err in answer["errors"]:
            assert isinstance(err, dict)
            assert set(err) in (ERROR_KEYS, ERROR_KEYS | {"documentIds"}), err
            code = err["errorCode"]
            assert isinstance(code, str) and re.fullmatch(r"[A-Z][A-Z0-9_]*", code), code
            assert code != "SERVER_UNHANDLED_ERROR", err["message"]
            assert code in CODES, code
            assert (err["family"], err["scope"], err["title"]) == CODES[code]
            assert isinstance(err["message"], str) and err["message"]
            assert isinstance(err["id"], str) and err["id"]
            if "documentIds" in err:
                assert isinstance(err["documentIds"], list)
    else:
        assert "status" in answer or "data" in answer
        name = next(iter(command))
        if name == "find":
            assert set(answer["data"]) == {"documents", "nextPageState"}
            assert isinstance(answer["data"]["documents"], list)
            page = answer["data"]["nextPageState"]
            assert page is None or (isinstance(page, str) and page)
        elif name in ("findOne", "findOneAndUpdate", "findOneAndReplace", "findOneAndDelete"):
            assert set(answer["data"]) == {"document"}
            assert answer["data"]["document"] is None or isinstance(
                answer["data"]["document"], dict)


def _contents(db: Any, keyspace: str, name: str) -> Any:
    """Every document (with its vector) of a collection, in store order."""
    docs: list = []
    options: dict = {}
    coll = db.get_collection(name, keyspace=keyspace)
    while True:
        answer = coll.command({"find": {"projection": {"*": 1}, "options": options}})
        assert "errors" not in answer, answer
        docs.extend(answer["data"]["documents"])
        if not answer["data"]["nextPageState"]:
            return docs
        options = {"pageState": answer["data"]["nextPageState"]}


def snapshot(db: Any) -> dict:
    """The keyspaces, collection definitions and documents of a database."""
    out = {}
    keyspaces = db.command({"findKeyspaces": {}})["status"]["keyspaces"]
    for ks in keyspaces:
        listing = db.command({"findCollections": {"options": {"explain": True}}}, keyspace=ks)
        for entry in listing["status"]["collections"]:
            out[(ks, entry["name"])] = (entry["options"], _contents(db, ks, entry["name"]))
    out["keyspaces"] = keyspaces
    json.dumps(list(out.values()), allow_nan=False)  # everything stored is JSON
    return out


def _failed(answer: dict) -> bool:
    return "errors" in answer and "status" not in answer


def _name(command: Any) -> Any:
    return next(iter(command)) if isinstance(command, dict) and len(command) == 1 else None


def _new_database(seed_docs: list[dict]) -> tuple[Workspace, Any]:
    ws = Workspace()
    db = ws.create_database("props")
    coll = db.create_collection("c", dimension=DIM, metric="cosine")
    db.create_collection("plain", indexing={"deny": ["secret"]})
    # a vectorize collection without a credential: $vectorize fails before any provider call
    db.create_collection("svc", service={"provider": "huggingface",
                                         "modelName": "sentence-transformers/all-MiniLM-L6-v2"})
    if seed_docs:
        coll.insert_many(seed_docs)
        db.get_collection("plain").insert_many(
            [{k: v for k, v in d.items() if k != "$vector"} for d in seed_docs[::2]])
    return ws, db


@settings(max_examples=600, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(seed_docs=SEED_DOCUMENTS, steps=st.lists(STEPS, min_size=1, max_size=8))
def test_every_answer_is_an_envelope_and_failures_change_nothing(seed_docs: list[dict],
                                                                  steps: list) -> None:
    ws, db = _new_database(seed_docs)
    try:
        for kind, where, command in steps:
            before = snapshot(db)
            if kind == "database":
                answer = db.command(command, keyspace=where)
            else:
                try:
                    target = db.get_collection(where)
                except DataAPIError:  # dropped by an earlier step
                    continue
                answer = target.command(command)
            check_envelope(answer, command)
            if _failed(answer) or _name(command) in READS:
                assert snapshot(db) == before, (command, answer)
    finally:
        ws.close()


# -- one operator at a time: every operator against every kind of operand ------------------

# documents holding a value of every kind at the same paths
KINDS_DOCS = [
    {"_id": 0, "v": 5, "w": [1, "a"], "$vector": [1.0, 2.0, 3.0]},
    {"_id": 1, "v": "text", "w": {"x": 1}},
    {"_id": 2, "v": {"$date": 1700000000000}, "w": [{"x": [1, 2]}, {"x": 3}]},
    {"_id": 3, "v": {"$uuid": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}, "w": None},
    {"_id": 4, "v": {"$objectId": "66b1c6f0a1b2c3d4e5f60718"}, "w": True},
    {"_id": 5, "v": [3, {"x": 1}], "w": 1e300, "$vector": [0.5, 0.5, 0.5]},
    {"_id": 6, "v": {"x": {"y": 2}}, "w": -7.5},
    {"_id": 7, "v": None, "w": ""},
    {"_id": {"$date": 5}, "v": True},
    {"_id": "s", "v": 2**63, "w": [[1], []]},
]
SIMPLE = st.one_of(SAFE_SCALARS, GOOD_EJSON, BAD_EJSON, NUMBERS,
                   st.sampled_from([10**400, 1e300, -1e300, 2**63, 0.5]))
OPERAND = st.one_of(SIMPLE, SIMPLE, st.lists(SIMPLE, max_size=3), JSON)
KIND_PATHS = st.sampled_from(["v", "w", "v.x", "w.x", "w.0", "v.x.y", "_id", "$vector", "u"])
FILTER_OPS = ["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists", "$all",
              "$size"]
ONE_FILTER = st.one_of(
    st.builds(lambda p, op, x: {p: {op: x}}, KIND_PATHS, st.sampled_from(FILTER_OPS), OPERAND),
    st.sampled_from([{"_id": d["_id"]} for d in KINDS_DOCS]),
)
ONE_UPDATE = st.builds(lambda op, p, x: {op: {p: x}}, st.sampled_from(sorted(UPDATE_ARGS)),
                       KIND_PATHS, OPERAND)
ONE_SORT = st.one_of(st.just(None), st.builds(lambda p, d: {p: d}, KIND_PATHS,
                                              st.sampled_from([1, -1])),
                     st.builds(lambda v: {"$vector": v},
                               st.one_of(VECTORS, OPERAND,
                                         st.lists(SIMPLE, min_size=DIM, max_size=DIM))))
ONE_OPERATOR_CMDS = st.one_of(
    st.builds(lambda f, s: {"find": {"filter": f, "sort": s}}, ONE_FILTER, ONE_SORT),
    st.builds(lambda f: {"countDocuments": {"filter": f}}, ONE_FILTER),
    st.builds(lambda f: {"deleteMany": {"filter": f}}, ONE_FILTER),
    st.builds(lambda f, u, up: {"updateMany": {"filter": f, "update": u,
                                               "options": {"upsert": up}}},
              st.one_of(st.just({}), ONE_FILTER), ONE_UPDATE, st.booleans()),
    st.builds(lambda f, u, s: {"findOneAndUpdate": {"filter": f, "update": u, "sort": s,
                                                    "options": {"upsert": True}}},
              st.one_of(st.just({}), ONE_FILTER, st.dictionaries(
                  st.sampled_from(["v", "w", "u", "_id"]), OPERAND, min_size=1, max_size=3)),
              ONE_UPDATE, ONE_SORT),
    st.builds(lambda d: {"insertOne": {"document": {"v": d}}}, OPERAND),
    st.builds(lambda s, p, lim: {"find": {"sort": s, "options": {"pageState": p, "limit": lim}}},
              ONE_SORT, PAGE_STATES, st.one_of(st.none(), st.integers(1, 30))),
    st.builds(lambda p: {"updateMany": {"update": {"$inc": {"n": 1}},
                                        "options": {"pageState": p}}}, PAGE_STATES),
    st.builds(lambda v: {"insertOne": {"document": {"$vector": v}}},
              st.one_of(OPERAND, st.lists(SIMPLE, min_size=DIM, max_size=DIM))),
)


@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(command=ONE_OPERATOR_CMDS)
def test_every_operator_against_every_kind_of_value(command: dict) -> None:
    ws = Workspace()
    try:
        db = ws.create_database("kinds")
        coll = db.create_collection("c", dimension=DIM, metric="euclidean")
        assert "errors" not in coll.command({"insertMany": {"documents": KINDS_DOCS}})
        before = snapshot(db)
        answer = coll.command(command)
        check_envelope(answer, command)
        if _failed(answer) or _name(command) in READS:
            assert snapshot(db) == before, (command, answer)
        else:
            snapshot(db)  # what was written is JSON
    finally:
        ws.close()
