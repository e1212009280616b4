"""find / findOne: filters, projections, sorts, vector search, paging (data-api.md §2.5)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from conftest import code
from vectorize_kit.similarity import similarity

DOCS = [
    {"_id": 1, "name": "ann", "age": 31, "tags": ["a", "b"], "addr": {"city": "Oslo", "zip": 1},
     "when": {"$date": 1000}, "pets": [{"kind": "cat"}, {"kind": "dog"}], "ok": True},
    {"_id": 2, "name": "bob", "age": 25, "tags": ["b"], "addr": {"city": "Rome"},
     "when": {"$date": 2000}, "ok": False, "nested": [[1, 2]]},
    {"_id": 3, "name": "cid", "age": 40.0, "tags": [], "addr": {"city": "Oslo", "zip": 2},
     "none": None, "ok": 1},
    {"_id": 4, "name": "dee", "age": "forty", "score": 9.5},
    {"_id": "five", "name": "eve", "tags": ["c", "a", "b"], "pets": [{"kind": "cat"}]},
]


@pytest.fixture
def people(coll):
    coll.insert_many(DOCS)
    return coll


def ids(people, flt, **kw):
    return sorted((d["_id"] for d in people.find(flt, **kw)), key=str)


@pytest.mark.parametrize("flt, expected", [
    ({}, [1, 2, 3, 4, "five"]),
    ({"name": "bob"}, [2]),
    ({"name": {"$eq": "bob"}}, [2]),
    ({"age": 40}, [3]),  # 40 equals 40.0
    ({"ok": True}, [1]),  # true is not 1
    ({"ok": 1}, [3]),
    ({"age": {"$ne": 31}}, [2, 3, 4, "five"]),
    ({"tags": "a"}, [1, "five"]),  # array contains
    ({"tags": ["b"]}, [2]),  # exact array
    ({"tags": ["b", "a"]}, []),  # order matters
    ({"addr": {"city": "Rome"}}, [2]),  # exact sub-document
    ({"addr": {"zip": 1, "city": "Oslo"}}, []),  # keys in order
    ({"addr.city": "Oslo"}, [1, 3]),
    ({"pets.kind": "dog"}, [1]),  # through an array of objects
    ({"tags.0": "c"}, ["five"]),  # array index
    ({"nested": [1, 2]}, [2]),  # array of arrays contains an array
    ({"_id": 2}, [2]),
    ({"_id": {"$in": [1, "five", 99]}}, [1, "five"]),
    ({"_id": {"$nin": [1, "five"]}}, [2, 3, 4]),
    ({"name": {"$in": ["ann", "eve"]}}, [1, "five"]),
    ({"tags": {"$in": ["c", "zzz"]}}, ["five"]),
    ({"name": {"$nin": ["ann", "eve"]}}, [2, 3, 4]),
    ({"age": {"$gt": 30}}, [1, 3]),  # numbers only: "forty" is not compared
    ({"age": {"$gte": 31}}, [1, 3]),
    ({"age": {"$lt": 31}}, [2]),
    ({"age": {"$lte": 31}}, [1, 2]),
    ({"name": {"$gt": "bob"}}, [3, 4, "five"]),
    ({"when": {"$gt": {"$date": 1500}}}, [2]),
    ({"ok": {"$lt": True}}, [2]),
    ({"score": {"$exists": True}}, [4]),
    ({"none": {"$exists": True}}, [3]),  # null counts as present
    ({"score": {"$exists": False}}, [1, 2, 3, "five"]),
    ({"none": None}, [3]),
    ({"tags": {"$all": ["a", "b"]}}, [1, "five"]),
    ({"tags": {"$size": 0}}, [3]),
    ({"tags": {"$size": 1}}, [2]),
    ({"$or": [{"name": "ann"}, {"age": 25}]}, [1, 2]),
    ({"$and": [{"addr.city": "Oslo"}, {"age": {"$gt": 35}}]}, [3]),
    ({"$not": {"addr.city": "Oslo"}}, [2, 4, "five"]),
    ({"addr.city": "Oslo", "age": {"$gt": 35, "$lt": 50}}, [3]),
    ({"$or": [{"$and": [{"tags": "a"}, {"tags": "c"}]}, {"name": "dee"}]}, [4, "five"]),
])
def test_filters(people, flt, expected):
    assert ids(people, flt) == sorted(expected, key=str)
    assert people.count_documents(flt, upper_bound=100) == len(expected)


def test_filters_see_updates(people):
    assert ids(people, {"name": "zed"}) == []
    people.update_one({"_id": 1}, {"$set": {"name": "zed"}})
    assert ids(people, {"name": "zed"}) == [1]
    people.insert_one({"_id": 9, "name": "zed"})
    assert ids(people, {"name": "zed"}) == [1, 9]
    people.delete_one({"_id": 1})
    assert ids(people, {"name": "zed"}) == [9]


@pytest.mark.parametrize("flt, expected", [
    ({"a": {"$regex": "x"}}, "UNSUPPORTED_FILTER_OPERATION"),
    ({"$nor": [{"a": 1}]}, "UNSUPPORTED_FILTER_OPERATION"),
    ({"a": {"$in": 3}}, "INVALID_FILTER_EXPRESSION"),
    ({"a": {"$in": list(range(101))}}, "INVALID_FILTER_EXPRESSION"),
    ({"a": {"$exists": 1}}, "INVALID_FILTER_EXPRESSION"),
    ({"a": {"$size": -1}}, "INVALID_FILTER_EXPRESSION"),
    ({"a": {"$gt": [1]}}, "INVALID_FILTER_EXPRESSION"),
    ({"a": {"$eq": 1, "b": 2}}, "INVALID_FILTER_EXPRESSION"),
    ({"$and": []}, "INVALID_FILTER_EXPRESSION"),
    ({"$or": {"a": 1}}, "INVALID_FILTER_EXPRESSION"),
    ({"$and": [{"_id": 1}, {"_id": 2}]}, "FILTER_MULTIPLE_ID_FILTER"),
    ({f"f{i}": i for i in range(65)}, "FILTER_FIELDS_LIMIT_VIOLATION"),
    ({"$vector": {"$eq": [1]}}, "UNSUPPORTED_FILTER_OPERATION"),
    ([1], "INVALID_FILTER_EXPRESSION"),
])
def test_bad_filters(people, flt, expected):
    assert code(people.command({"find": {"filter": flt}})) == expected


def test_sixty_four_filter_properties_are_fine(people):
    env = people.command({"find": {"filter": {f"f{i}": i for i in range(64)}}})
    assert env == {"data": {"documents": [], "nextPageState": None}}


@pytest.mark.parametrize("projection, expected", [
    (None, {"_id": 1, "name": "ann", "tags": ["a", "b"]}),
    ({"name": 1}, {"_id": 1, "name": "ann"}),
    ({"name": True, "_id": 0}, {"name": "ann"}),
    ({"addr.city": 1}, {"_id": 1, "addr": {"city": "Oslo"}}),
    ({"pets.kind": 1}, {"_id": 1, "pets": [{"kind": "cat"}, {"kind": "dog"}]}),
    ({"tags": {"$slice": 1}, "name": 1}, {"_id": 1, "name": "ann", "tags": ["a"]}),
    ({"tags": {"$slice": -1}, "name": 1}, {"_id": 1, "name": "ann", "tags": ["b"]}),
    ({"tags": {"$slice": [1, 5]}, "name": 1}, {"_id": 1, "name": "ann", "tags": ["b"]}),
    ({"*": 0}, {}),
])
def test_projection_inclusion(people, projection, expected):
    doc = people.find_one({"_id": 1}, projection=projection)
    if projection is None:
        assert {k: doc[k] for k in ("_id", "name", "tags")} == expected
        assert len(doc) == 8
    else:
        assert doc == expected


def test_projection_exclusion(people):
    doc = people.find_one({"_id": 2}, projection={"addr": 0, "when": False, "_id": 0})
    assert doc == {"name": "bob", "age": 25, "tags": ["b"], "ok": False, "nested": [[1, 2]]}
    doc = people.find_one({"_id": 1}, projection={"addr.zip": 0, "pets": 0, "tags": 0,
                                                  "when": 0, "ok": 0})
    assert doc == {"_id": 1, "name": "ann", "age": 31, "addr": {"city": "Oslo"}}


@pytest.mark.parametrize("projection", [
    {"a": 1, "b": 0}, {"a": 1, "a.b": 1}, {"a": "yes"}, {"a": {"$slice": "x"}},
    {"a": {"$elemMatch": {}}}, {"*": 1, "a": 1},
])
def test_bad_projections(people, projection):
    env = people.command({"find": {"projection": projection}})
    assert code(env) == "UNSUPPORTED_PROJECTION_PARAM"


def test_vector_and_vectorize_projection(vcoll):
    vcoll.insert_one({"_id": 1, "a": 1, "$vector": [1, 0, 0]})
    assert vcoll.find_one({}) == {"_id": 1, "a": 1}
    assert vcoll.find_one({}, projection={"$vector": 1}) == {
        "_id": 1, "a": 1, "$vector": [1.0, 0.0, 0.0]}
    assert vcoll.find_one({}, projection={"$vector": 1, "a": 0}) == {
        "_id": 1, "$vector": [1.0, 0.0, 0.0]}
    assert vcoll.find_one({}, projection={"*": 1}) == {"_id": 1, "a": 1, "$vector": [1.0, 0, 0]}
    assert vcoll.find_one({}, projection={"$vector": 0}) == {"_id": 1, "a": 1}
    assert vcoll.find_one({"$vector": {"$exists": True}})["_id"] == 1
    assert vcoll.find_one({"$vector": {"$exists": False}}) is None


def test_field_sort_skip_limit_and_page_cap(coll):
    coll.insert_many([{"_id": i, "n": (i * 7) % 30, "g": i % 3} for i in range(30)])
    docs = coll.command({"find": {"sort": {"n": -1}}})["data"]
    assert docs["nextPageState"] is None
    assert [d["n"] for d in docs["documents"]] == list(range(29, 9, -1))  # at most 20
    env = coll.command({"find": {"sort": {"g": 1, "n": -1},
                                 "options": {"skip": 8, "limit": 4}}})
    assert [(d["g"], d["n"]) for d in env["data"]["documents"]] == [
        (0, 3), (0, 0), (1, 28), (1, 25)]


def test_sort_across_types(coll):
    coll.insert_many([{"_id": i, "v": v} for i, v in enumerate(
        ["b", 2, None, True, {"$date": 5}, [1], {"x": 1}, 1.5, "a"])] + [{"_id": 99}])
    order = [d["_id"] for d in coll.find({}, sort={"v": 1})]
    assert order == [2, 99, 7, 1, 8, 0, 6, 5, 3, 4]


def test_unsorted_paging_with_limit_and_deletes_between_pages(coll):
    coll.insert_many([{"_id": i} for i in range(55)])
    env = coll.command({"find": {}})
    first = env["data"]
    assert [d["_id"] for d in first["documents"]] == list(range(20))
    coll.delete_one({"_id": 20})  # deleting ahead of the cursor: nothing is skipped
    coll.delete_one({"_id": 5})  # or behind it
    second = coll.command({"find": {"options": {"pageState": first["nextPageState"]}}})["data"]
    assert [d["_id"] for d in second["documents"]] == list(range(21, 41))
    third = coll.command({"find": {"options": {"pageState": second["nextPageState"]}}})["data"]
    assert [d["_id"] for d in third["documents"]] == list(range(41, 55))
    assert third["nextPageState"] is None
    assert len(coll.find({}, limit=27).to_list()) == 27
    assert len(coll.find({}).to_list()) == 53


def test_bad_page_state_and_options(coll):
    coll.insert_one({"_id": 1})
    for options, fragment in [
        ({"pageState": "garbage"}, "pageState"),
        ({"limit": 0}, "limit should be greater than `0`"),
        ({"limit": "3"}, "must be an integer"),
        ({"skip": -1}, "skip should be greater than or equal to `0`"),
        ({"skip": 1}, "skip options should be used with sort clause"),
        ({"includeSimilarity": "yes"}, "must be a boolean"),
    ]:
        env = coll.command({"find": {"options": options}})
        assert code(env) == "COMMAND_FIELD_VALUE_INVALID", options
        assert fragment in env["errors"][0]["message"]


@pytest.fixture
def space(db):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(60, 8)).astype(np.float32)
    out = {}
    for metric in ("cosine", "dot_product", "euclidean"):
        c = db.create_collection(f"v_{metric}", dimension=8, metric=metric)
        c.insert_many([{"_id": i, "g": i % 4, "$vector": vectors[i].tolist()} for i in range(60)])
        out[metric] = c
    return out, vectors, rng.normal(size=8).astype(np.float32)


@pytest.mark.parametrize("metric", ["cosine", "dot_product", "euclidean"])
def test_vector_search_matches_the_formula(space, metric):
    colls, vectors, q = space
    expected = sorted(((similarity(vectors[i], q, metric), i) for i in range(60)),
                      key=lambda t: -t[0])
    docs = colls[metric].find({}, sort={"$vector": q.tolist()}, limit=10,
                              include_similarity=True).to_list()
    assert [d["_id"] for d in docs] == [i for _, i in expected[:10]]
    for d, (s, _) in zip(docs, expected):
        assert d["$similarity"] == pytest.approx(s, rel=1e-5)
        assert list(d) == ["_id", "g", "$similarity"]


def test_vector_search_with_filter_binary_query_and_paging(space):
    colls, vectors, q = space
    c = colls["cosine"]
    binary = {"$binary": base64.b64encode(q.astype(">f4").tobytes()).decode()}
    all_ranked = [d["_id"] for d in c.find({}, sort={"$vector": binary})]
    assert len(all_ranked) == 60  # no limit: up to 1000, paged by 20
    filtered = [d["_id"] for d in c.find({"g": 1}, sort={"$vector": q.tolist()})]
    assert filtered == [i for i in all_ranked if i % 4 == 1]
    env = c.command({"find": {"sort": {"$vector": q.tolist()}, "options": {"limit": 25}}})
    assert len(env["data"]["documents"]) == 20 and env["data"]["nextPageState"]
    best = c.find_one({}, sort={"$vector": q.tolist()}, include_similarity=True)
    assert best["_id"] == all_ranked[0] and "$similarity" in best


def test_include_sort_vector(space):
    colls, _, q = space
    env = colls["cosine"].command({"find": {"sort": {"$vector": q.tolist()},
                                            "options": {"includeSortVector": True}}})
    assert env["status"]["sortVector"] == pytest.approx(q.tolist())
    assert env["data"]["nextPageState"] is None  # the Data API's quirk
    env = colls["cosine"].command({"find": {"options": {"includeSortVector": True}}})
    assert env["status"] == {"sortVector": None}
    cursor = colls["cosine"].find({}, sort={"$vector": q.tolist()}, include_sort_vector=True)
    assert cursor.get_sort_vector() == pytest.approx(q.tolist())


@pytest.mark.parametrize("limit", [1, 2, 5, 9])
def test_equal_scores_at_the_cut_keep_row_order(vcoll, limit):
    """Where more documents score the same than the limit keeps, the first inserted are
    returned, in insertion order (one scoring better comes first)."""
    vcoll.insert_many([{"_id": f"d{i}", "$vector": [1, 1, 0]} for i in range(12)]
                      + [{"_id": "best", "$vector": [1, 0, 0]}, {"_id": "worst",
                                                                  "$vector": [0, 0, 1]}])
    found = [d["_id"] for d in vcoll.find({}, sort={"$vector": [1, 0, 0]}, limit=limit)]
    assert found == ["best"] + [f"d{i}" for i in range(limit - 1)]
    one = vcoll.find_one({}, sort={"$vector": [0, 1, 0]})
    assert one["_id"] == "d0"


def test_cosine_scores_are_the_same_with_and_without_unusual_rows(db):
    """Similarities do not depend on what else the collection holds: rows without a vector
    or with a vector whose norm overflows (searched with guards against zero and infinite
    norms) leave the other rows' scores bit for bit as they were (searched without)."""
    rng = np.random.default_rng(3)
    c = db.create_collection("mixed", dimension=4, metric="cosine")
    c.insert_many([{"_id": i, "$vector": v.tolist()}
                   for i, v in enumerate(rng.normal(size=(30, 4)))])
    q = rng.normal(size=4).tolist()

    def scores():
        return {d["_id"]: d["$similarity"] for d in c.find(
            {}, sort={"$vector": q}, limit=1000, include_similarity=True)}

    plain = scores()
    c.insert_one({"_id": "none"})
    assert scores() == plain
    c.insert_one({"_id": "huge", "$vector": [3e38, 3e38, 3e38, 3e38]})  # its norm: inf
    guarded = scores()
    assert guarded.pop("huge") == 0.5  # no cosine to give: 0, as the Data API's NaN guard
    assert guarded == plain
    for big in (3e38, 1e20):  # a query whose norm overflows; one that is merely large
        found = c.find_one({}, sort={"$vector": [big, 1, 1, 1]}, include_similarity=True)
        assert 0 <= found["$similarity"] <= 1
    c.delete_many({"_id": {"$in": ["none", "huge"]}})
    assert scores() == plain


def test_dot_products_that_overflow_still_rank_and_answer(db):
    """Huge (finite) vectors: a dot product overflowing to infinity ranks first, one that is
    inf - inf counts as 0; every $similarity is a finite number (JSON has no NaN)."""
    c = db.create_collection("dots", dimension=2, metric="dot_product")
    c.insert_many([{"_id": "undefined", "$vector": [3e38, -3e38]},
                   {"_id": "a", "$vector": [0.6, 0.8]}, {"_id": "b", "$vector": [-0.8, -0.6]},
                   {"_id": "huge", "$vector": [3e38, 3e38]}])
    found = c.find({}, sort={"$vector": [10, 10]}, include_similarity=True).to_list()
    assert [d["_id"] for d in found] == ["huge", "a", "undefined", "b"]
    assert all(np.isfinite(d["$similarity"]) for d in found)
    assert found[2]["$similarity"] == 0.5
    assert c.find_one({}, sort={"$vector": [10, 10]})["_id"] == "huge"


def test_vector_search_skips_documents_without_vectors(vcoll):
    vcoll.insert_many([{"_id": 1, "$vector": [1, 0, 0]}, {"_id": 2}, {"_id": 3, "$vector": None}])
    assert [d["_id"] for d in vcoll.find({}, sort={"$vector": [1, 1, 0]})] == [1]


@pytest.mark.parametrize("body, expected", [
    ({"sort": {"$vector": [1, 0]}}, "INVALID_VECTOR_LENGTH"),
    ({"sort": {"$vector": [1, 0, 0], "a": 1}}, "SORT_CLAUSE_INVALID"),
    ({"sort": {"$vector": [1, 0, 0]}, "options": {"skip": 2}}, "COMMAND_FIELD_VALUE_INVALID"),
    ({"sort": {"$vector": [1, 0, 0]}, "options": {"limit": 1001}},
     "COMMAND_FIELD_VALUE_INVALID"),
    ({"sort": {"$vectorize": "cats"}}, "EMBEDDING_SERVICE_NOT_CONFIGURED"),
    ({"sort": {"$vectorize": "  "}}, "SORT_CLAUSE_VALUE_INVALID"),
    ({"sort": {"a": 2}}, "SORT_CLAUSE_VALUE_INVALID"),
    ({"sort": {"$foo": 1}}, "SORT_CLAUSE_INVALID"),
])
def test_bad_vector_sorts(vcoll, body, expected):
    assert code(vcoll.command({"find": body})) == expected


def test_vector_sort_on_non_vector_collection(coll):
    assert code(coll.command({"find": {"sort": {"$vector": [1]}}})) == (
        "VECTOR_SEARCH_NOT_SUPPORTED")


def test_find_one_and_empty_results(coll):
    assert coll.command({"findOne": {"filter": {"a": 1}}}) == {"data": {"document": None}}
    assert coll.command({"find": {}}) == {"data": {"documents": [], "nextPageState": None}}


def test_count_caps_at_1000(coll):
    for start in range(0, 1001, 100):
        coll.insert_many([{"_id": i} for i in range(start, min(start + 100, 1001))])
    assert coll.command({"countDocuments": {}}) == {"status": {"count": 1000, "moreData": True}}
    assert coll.command({"countDocuments": {"filter": {"_id": {"$lt": 1000}}}}) == {
        "status": {"count": 1000}}
    assert coll.command({"estimatedDocumentCount": {}}) == {"status": {"count": 1001}}
    with pytest.raises(Exception) as info:
        coll.count_documents({}, upper_bound=5000)
    assert info.value.error_code == "TOO_MANY_DOCUMENTS_TO_COUNT"
    with pytest.raises(Exception) as info:
        coll.count_documents({"_id": {"$lt": 10}}, upper_bound=5)
    assert info.value.error_code == "TOO_MANY_DOCUMENTS_TO_COUNT"


def test_distinct_and_to_pandas(people):
    assert sorted(people.distinct("tags")) == ["a", "b", "c"]
    assert people.distinct("addr.city", filter={"age": {"$gt": 30}}) == ["Oslo"]
    frame = people.to_pandas({"name": {"$in": ["ann", "bob"]}}, projection={"name": 1, "age": 1})
    assert list(frame.columns) == ["_id", "name", "age"]
    assert frame["age"].tolist() == [31, 25] and str(frame["age"].dtype) == "Int64"
    assert len(people.find({"age": {"$gt": 0}}).to_pandas()) == 3


def test_euclidean_scores_of_long_close_vectors_are_exact(db):
    c = db.create_collection("e", dimension=3, metric="euclidean")
    c.insert_many([{"_id": i, "$vector": [300 + i * 0.1, 400, 500]} for i in range(5)])
    docs = c.find({}, sort={"$vector": [300, 400, 500]}, include_similarity=True).to_list()
    assert [d["_id"] for d in docs] == [0, 1, 2, 3, 4]
    for d in docs:
        expected = 1 / (1 + (d["_id"] * 0.1) ** 2)
        assert d["$similarity"] == pytest.approx(expected, rel=1e-4)
