"""Database-level commands: keyspaces, and createCollection / findCollections /
deleteCollection (``reference/data-api.md`` §2.1)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .. import limits
from ..errors import DataAPIError
from ..models import OTHER_PROVIDERS, PROVIDERS
from ..names import check_schema_name
from ..similarity import METRICS
from ..store.lexical import AnalyzerError
from ..store.lexical import analyzer as lexical_analyzer
from ..store.shred import ID_TYPES
from ..values import json_type_name
from .core import Result, check_fields, field_invalid, get_bool, get_options
from .state import (
    CollectionSettings,
    CollectionState,
    DatabaseState,
    TableState,
    credential_name,
    not_in_scope,
)

__all__ = ["GENERAL_COMMANDS", "KEYSPACE_COMMANDS", "RERANKING_PROVIDERS", "check_analyzer",
           "check_rerank_service", "check_service"]

#: The reranking providers and models the Data API offers (findRerankingProviders).
RERANKING_PROVIDERS = {"nvidia": ("nvidia/llama-3.2-nv-rerankqa-1b-v2",)}
SOURCE_MODELS = ("ada002", "bert", "cohere-v3", "gecko", "nv-qa-4", "openai-v3-large",
                 "openai-v3-small", "other")
# The Data API echoes these blocks for every collection (HCD with lexical and rerank on);
# astrapy's tests compare them.  Reranking runs offline on the local model (findAndRerank).
DEFAULT_LEXICAL = {"enabled": True, "analyzer": "standard"}
DEFAULT_RERANK = {"enabled": True, "service": {
    "provider": "nvidia", "modelName": "nvidia/llama-3.2-nv-rerankqa-1b-v2"}}


def _options_error(message: str) -> DataAPIError:
    return DataAPIError(
        "INVALID_CREATE_COLLECTION_OPTIONS",
        f"'createCollection' command option(s) invalid: {message}\n\nResend "
        "'createCollection' with valid options.",
    )


def normalise_options(options: Any, db: DatabaseState, *,
                      default_credential: bool = True) -> dict:
    """Check createCollection ``options`` and return the form findCollections echoes.

    ``default_credential``: without ``authentication``, pick the one credential that has the
    database in scope (when there is exactly one)."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise field_invalid("command.options", options, "must be a JSON object")
    check_fields("createCollection", options,
                 ("defaultId", "vector", "indexing", "lexical", "rerank"), "options")
    out: dict[str, Any] = {}
    if options.get("defaultId") is not None:
        spec = options["defaultId"]
        if not isinstance(spec, dict) or set(spec) != {"type"} or spec["type"] not in ID_TYPES:
            raise field_invalid(
                "command.options.defaultId", spec,
                "must be {\"type\": T} with T one of " + ", ".join(ID_TYPES),
            )
        out["defaultId"] = {"type": spec["type"]}
    if options.get("vector") is not None:
        out["vector"] = _vector_options(options["vector"], db, default_credential)
    if options.get("indexing") is not None:
        out["indexing"] = _indexing_options(options["indexing"])
    for key, default in (("lexical", DEFAULT_LEXICAL), ("rerank", DEFAULT_RERANK)):
        value = options.get(key)
        if value is not None and not isinstance(value, dict):
            raise DataAPIError(
                "REQUEST_STRUCTURE_MISMATCH",
                f"Request is valid JSON but has a structural mismatch: 'options.{key}' must be "
                f"a JSON object, not {json_type_name(value)}.",
            )
        out[key] = (_lexical_options(value) if key == "lexical" else _rerank_options(value)
                    ) if value is not None else copy.deepcopy(default)
    return out


def _lexical_options(spec: dict) -> dict:
    """``options.lexical``: ``{"enabled": bool, "analyzer": name or object}``."""
    enabled = spec.get("enabled")
    if not isinstance(enabled, bool):
        raise _options_error("'enabled' is required property for 'lexical' Object value")
    check_fields("createCollection", spec, ("enabled", "analyzer"), "options.lexical")
    analyzer = spec.get("analyzer")
    if not enabled:
        if analyzer not in (None, {}):
            raise _options_error(
                "'lexical' is disabled, but 'lexical.analyzer' property was provided with an "
                f"unexpected type: {json_type_name(analyzer)}. When 'lexical' is disabled, "
                "'lexical.analyzer' must either be omitted or be JSON null, or an empty "
                "Object '{ }'.")
        return {"enabled": False}
    if analyzer in (None, {}):
        analyzer = "standard"
    return {"enabled": True, "analyzer": check_analyzer(analyzer, _options_error, "lexical")}


def check_analyzer(analyzer: Any, fail: Callable[[str], DataAPIError], owner: str) -> Any:
    """A lexical analyzer (a name or a custom object) that vectorize_kit can run; a copy."""
    if isinstance(analyzer, dict):
        unknown = sorted(set(analyzer) - {"charFilters", "filters", "tokenizer"})
        if unknown:
            raise fail(
                f"Invalid field{'s' if len(unknown) > 1 else ''} for '{owner}.analyzer'."
                f" Valid fields are: [charFilters, filters, tokenizer], found: "
                f"[{', '.join(unknown)}]")
        for key, kind in (("tokenizer", dict), ("filters", list), ("charFilters", list)):
            value = analyzer.get(key)
            if value is not None and not isinstance(value, kind):
                raise fail(
                    f"'{key}' property of '{owner}.analyzer' must be JSON "
                    f"{'Object' if kind is dict else 'Array'}, is: {json_type_name(value)}")
    elif not isinstance(analyzer, str):
        raise fail(f"'analyzer' property of '{owner}' must be either JSON Object or String, is: "
                   f"{json_type_name(analyzer)}")
    try:
        lexical_analyzer(analyzer)
    except AnalyzerError as exc:
        raise fail(f"Invalid analyzer config: {exc}") from None
    return copy.deepcopy(analyzer)


def _rerank_options(spec: dict) -> dict:
    """``options.rerank``: ``{"enabled": bool, "service": {provider, modelName, ...}}``."""
    enabled = spec.get("enabled")
    if not isinstance(enabled, bool):
        raise _options_error("'enabled' is required property for 'rerank' Object value")
    check_fields("createCollection", spec, ("enabled", "service"), "options.rerank")
    service = spec.get("service")
    if not enabled:
        if service not in (None, {}):
            raise _options_error(
                "'rerank' is disabled, but 'rerank.service' configuration is provided")
        return {"enabled": False}
    if service is None:
        return copy.deepcopy(DEFAULT_RERANK)
    return {"enabled": True, "service": check_rerank_service(service, _options_error)}


def check_rerank_service(service: Any, fail: Callable[[str], DataAPIError]) -> dict:
    """A reranking service definition of the one reranking provider (NVIDIA's model, which
    vectorize_kit stands in for with the local model: see findAndRerank)."""
    if not isinstance(service, dict):
        raise fail(f"'service' must be a JSON object, not {json_type_name(service)}")
    check_fields("createCollection", service,
                 ("provider", "modelName", "authentication", "parameters"),
                 "options.rerank.service")
    provider, model = service.get("provider"), service.get("modelName")
    if not provider:
        raise fail("Provider name is required for reranking service configuration")
    if provider not in RERANKING_PROVIDERS:
        raise fail(f"Reranking provider '{provider}' is not supported")
    if not model:
        raise fail(f"Model name is required for reranking provider '{provider}'")
    if model not in RERANKING_PROVIDERS[provider]:
        raise fail(f"Model '{model}' is not supported by reranking provider '{provider}'")
    if service.get("parameters"):
        raise fail(f"Reranking provider '{provider}' currently doesn't support any parameters")
    return copy.deepcopy(service)


def _vector_options(spec: Any, db: DatabaseState, default_credential: bool) -> dict:
    if not isinstance(spec, dict):
        raise field_invalid("command.options.vector", spec, "must be a JSON object")
    check_fields("createCollection", spec,
                 ("dimension", "size", "metric", "function", "sourceModel", "service"),
                 "options.vector")
    dimension = spec.get("dimension", spec.get("size"))
    metric = spec.get("metric", spec.get("function"))
    source = spec.get("sourceModel")
    service = spec.get("service")
    if service is not None:
        service, dimension = check_service(service, dimension, db, default_credential)
    if dimension is None:
        raise _options_error("The 'dimension' can not be null if 'service' is not provided")
    if isinstance(dimension, bool) or not isinstance(dimension, int):
        raise field_invalid("command.options.vector.dimension", dimension,
                             "dimension must be an integer")
    if dimension <= 0:
        raise field_invalid("command.options.vector.dimension", dimension,
                             "dimension should be greater than `0`")
    if dimension > limits.MAX_VECTOR_DIMENSION:
        raise DataAPIError(
            "VECTOR_SEARCH_TOO_BIG_VALUE",
            f"Vector embedding property '$vector' length too big: {dimension} (max "
            f"{limits.MAX_VECTOR_DIMENSION}).",
        )
    if source is not None and source not in SOURCE_MODELS:
        raise field_invalid("command.options.vector.sourceModel", source,
                             "sourceModel can only be " + ", ".join(SOURCE_MODELS))
    if metric is not None and metric not in METRICS:
        raise field_invalid("command.options.vector.metric", metric,
                             "function name can only be 'dot_product', 'cosine' or 'euclidean'")
    if metric is None:
        metric = "cosine" if source in (None, "other") else "dot_product"
    out: dict[str, Any] = {"dimension": dimension, "metric": metric,
                           "sourceModel": source or "other"}
    if service is not None:
        out["service"] = service
    return out


def check_service(service: Any, dimension: Any, db: DatabaseState, default_credential: bool, *,
             command: str = "createCollection", where: str = "options.vector",
             fail: Callable[[str], DataAPIError] = _options_error) -> tuple[dict, Any]:
    """Check a vectorize ``service`` against the model catalogue and the database's
    credentials; fill in the dimension and the credential; return both.

    ``where`` is the path of the object holding the service (a collection's vector options,
    a table's vector column) and ``fail`` makes the error for a bad service."""
    if not isinstance(service, dict) or not isinstance(service.get("provider"), str):
        raise fail(
            "'service' must be an object with at least a 'provider' string, e.g. "
            "{\"provider\": \"huggingface\", \"modelName\": \"...\"}."
        )
    check_fields(command, service,
                 ("provider", "modelName", "authentication", "parameters"),
                 f"{where}.service")
    provider = service["provider"]
    info = PROVIDERS.get(provider)
    if info is None and provider in OTHER_PROVIDERS:
        return _other_service(service, dimension, where, fail)
    if info is None:
        raise fail(
            f"Service provider '{provider}' is not supported. Supported: "
            f"{', '.join(sorted([*PROVIDERS, *OTHER_PROVIDERS], key=str.lower))}."
        )
    model = info.model(service.get("modelName"))  # type: ignore[arg-type]
    if model is None:
        raise fail(
            f"Model name '{service.get('modelName')}' for provider '{provider}' is not "
            f"supported. Supported: {', '.join(m.name for m in info.models)}."
        )
    params = service.get("parameters")
    if params not in (None, {}):
        raise fail(
            f"Unexpected parameter(s) {sorted(params) if isinstance(params, dict) else params}"
            f" for model '{model.name}' of provider '{provider}': it takes none."
        )
    if dimension is None:
        dimension = model.dimension
    elif isinstance(dimension, bool) or not isinstance(dimension, int):
        raise field_invalid(f"command.{where}.dimension", dimension,
                            "dimension must be an integer")
    elif dimension != model.dimension:
        raise fail(
            f"The provided dimension value '{dimension}' doesn't match the model's supported "
            f"dimension value '{model.dimension}' (model '{model.name}'). Leave 'dimension' "
            "out to use the model's."
        )
    out = copy.deepcopy(service)
    auth = service.get("authentication")
    if not info.external:
        if auth:
            raise fail(
                f"Service provider '{provider}' does not support authentication key "
                f"'{next(iter(auth)) if isinstance(auth, dict) else auth}': it runs on this "
                "machine and needs no credential."
            )
        return out, dimension
    if auth is not None:
        if not isinstance(auth, dict) or set(auth) != {"providerKey"} or not isinstance(
            auth["providerKey"], str
        ):
            keys = sorted(auth) if isinstance(auth, dict) else auth
            raise fail(
                f"Service provider '{provider}' does not support authentication key(s) "
                f"{keys}: use {{\"providerKey\": \"<credential name>\"}}."
            )
        name = credential_name(auth["providerKey"])
        check_credential(db, provider, name)
    elif not default_credential:
        return out, dimension
    else:
        names = db.workspace.integrations.in_scope(provider, db.id)
        if len(names) > 1:
            raise DataAPIError(
                "VECTORIZE_CREDENTIAL_INVALID",
                f"Invalid credential name for vectorize, with error: database '{db.name}' is "
                f"in the scope of several credentials of provider '{provider}' ({names}); "
                "choose one with \"authentication\": {\"providerKey\": \"<name>\"}.",
            )
        if not names:  # no credential: every request must bring x-embedding-api-key
            return out, dimension
        name = names[0]  # exactly one credential is available: it is the default
    out["authentication"] = {"providerKey": f"{name}.providerKey"}
    return out, dimension


def _other_service(service: dict, dimension: Any, where: str,
                   fail: Callable[[str], DataAPIError]) -> tuple[dict, Any]:
    """A service of one of the Data API's providers that vectorize_kit can not call: kept as
    given (its authentication and parameters too), with the model's dimension filled in when
    the catalogue knows it."""
    provider, model = service["provider"], service.get("modelName")
    if model is None and provider == "huggingfaceDedicated":
        model = "endpoint-defined-model"
    if not isinstance(model, str) or not model:
        raise fail(f"Model name '{model}' for provider '{provider}' is not supported: give "
                   "the provider's model name as a string.")
    for key in ("authentication", "parameters"):
        value = service.get(key)
        if value is not None and not (isinstance(value, dict) and all(
                isinstance(v, (str, int, float, bool)) for v in value.values())):
            raise fail(f"'{key}' of provider '{provider}' must be an object of names to "
                       f"values, not {value!r}.")
    known = OTHER_PROVIDERS[provider].get(model)
    if dimension is None:
        if known is None:
            raise fail(
                f"The 'dimension' can not be left out for model '{model}' of provider "
                f"'{provider}': vectorize_kit does not know its dimension. Give "
                f"{where}.dimension.")
        dimension = known
    elif isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise field_invalid(f"command.{where}.dimension", dimension,
                            "dimension must be a positive integer")
    return copy.deepcopy(service), dimension


def check_credential(db: DatabaseState, provider: str, name: str) -> None:
    """The credential exists and its scope holds the database, or a clear error."""
    cred = db.workspace.integrations.get(provider, name)
    if cred is None:
        raise DataAPIError(
            "VECTORIZE_CREDENTIAL_INVALID",
            f"Invalid credential name for vectorize, with error: provider '{provider}' has no "
            f"credential named '{name}' (it has "
            f"{[c.name for c in db.workspace.integrations.credentials(provider)]}). Add it in "
            "the integration's settings (add_credential), with this database in its scope.",
        )
    if db.id not in cred.databases:
        raise not_in_scope(db.name, name, provider)


def _indexing_options(spec: Any) -> dict:
    def bad(why: str) -> DataAPIError:
        return DataAPIError(
            "INVALID_INDEXING_DEFINITION",
            f"Invalid indexing definition: {why}. Use {{\"allow\": [paths]}} or "
            "{\"deny\": [paths]}.",
        )

    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("allow", "deny"):
        raise bad("exactly one of 'allow' or 'deny' must be given")
    ((mode, paths),) = spec.items()
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise bad(f"'{mode}' must be an array of non-empty strings")
    if len(set(paths)) != len(paths):
        raise bad(f"'{mode}' contains duplicate paths")
    if "*" in paths and len(paths) > 1:
        raise bad(f"wildcard '*' only allowed as the only path in '{mode}'")
    for p in paths:
        if p.startswith("$") and p != "$vector":
            raise bad(f"path '{p}' must not start with '$'")
    return {mode: list(paths)}


# -- keyspace-level commands -----------------------------------------------------------------

def create_collection(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    check_fields("createCollection", body, ("name", "options"))
    name = check_schema_name(body.get("name"), "Collection")
    with db.lock:
        existing = db.keyspace(keyspace).get(name)
        if isinstance(existing, TableState):
            raise DataAPIError(
                "EXISTING_TABLE_NOT_DATA_API_COLLECTION",
                f"Attempt to create new collection failed: table '{name}' already exists and "
                "it is not a valid Data API collection.\n\nRecommend deleting the table "
                "(dropTable) and resending the command, or choosing another name.",
            )
        if existing is not None:
            # the same request again (a notebook cell run twice) is fine, whichever
            # credential was chosen by default the first time
            asked = normalise_options(body.get("options"), db, default_credential=False)
            if _without_default_credential(existing.settings.options, asked) == asked:
                return Result(status={"ok": 1})
            raise DataAPIError(
                "EXISTING_COLLECTION_DIFFERENT_SETTINGS",
                f"Collection '{name}' already exists but with settings different from ones "
                f"passed with 'createCollection' command. Existing options: "
                f"{existing.settings.options}; drop it first (deleteCollection) or use "
                "another name.",
            )
        options = normalise_options(body.get("options"), db)
        count = db.collection_count()
        if count >= db.max_collections:
            raise DataAPIError(
                "TOO_MANY_COLLECTIONS",
                f"Cannot create collection '{name}': the maximum number of collections per "
                f"database is {db.max_collections}, database already has {count}. Delete a "
                "collection first (deleteCollection), then create this one.",
            )
        ks_name = keyspace or limits.DEFAULT_KEYSPACE
        db.catalog.create_collection(db.id, ks_name, name, {"name": name, "options": options})
        db._open_collection(ks_name, CollectionSettings(name, options))
    return Result(status={"ok": 1})


def _without_default_credential(stored: dict, asked: dict) -> dict:
    """``stored`` without its credential when ``asked`` names none."""
    service = (asked.get("vector") or {}).get("service")
    if service is None or "authentication" in service:
        return stored
    out = copy.deepcopy(stored)
    out.get("vector", {}).get("service", {}).pop("authentication", None)
    return out


def find_collections(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    check_fields("findCollections", body, ("options",))
    explain = get_bool(get_options("findCollections", body, ("explain",)), "explain")
    colls = {n: s for n, s in db.keyspace(keyspace).items() if isinstance(s, CollectionState)}
    if not explain:
        return Result(status={"collections": sorted(colls)})
    return Result(status={"collections": [
        {"name": name, "options": copy.deepcopy(colls[name].settings.options)}
        for name in sorted(colls)
    ]})


def delete_collection(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    check_fields("deleteCollection", body, ("name",))
    name = body.get("name")
    if not isinstance(name, str):
        raise field_invalid("command.name", name, "must be a string")
    with db.lock:
        colls = db.keyspace(keyspace)
        state = colls.get(name)
        if isinstance(state, TableState):
            raise DataAPIError(
                "UNSUPPORTED_TABLE_COMMAND",
                f"The command is not supported by tables: '{state.qualified_name}' is a "
                "table, and deleteCollection deletes collections. Drop it with dropTable.",
            )
        if state is not None:  # idempotent: a missing collection is fine
            del colls[name]
            state.close_store()
            db.catalog.drop(db.id, state.keyspace, name)
    return Result(status={"ok": 1})


# -- general (database endpoint) commands ----------------------------------------------------

def create_keyspace(db: DatabaseState, body: dict) -> Result:
    check_fields("createKeyspace", body, ("name", "options"))
    db.create_keyspace(body.get("name"))
    return Result(status={"ok": 1})


def drop_keyspace(db: DatabaseState, body: dict) -> Result:
    check_fields("dropKeyspace", body, ("name",))
    name = body.get("name")
    if isinstance(name, str) and name in db.keyspaces:
        db.drop_keyspace(name)
    return Result(status={"ok": 1})


def find_keyspaces(db: DatabaseState, body: dict) -> Result:
    check_fields("findKeyspaces", body, ())
    return Result(status={"keyspaces": sorted(db.keyspaces)})


def find_embedding_providers(db: DatabaseState, body: dict) -> Result:
    check_fields("findEmbeddingProviders", body, ("options",))
    options = get_options("findEmbeddingProviders", body, ("filterModelStatus",))
    status = options.get("filterModelStatus", "SUPPORTED")
    if status is not None and (not isinstance(status, str) or status.upper() not in (
            "", "SUPPORTED", "DEPRECATED", "END_OF_LIFE")):
        raise field_invalid("command.options.filterModelStatus", status,
                             "must be SUPPORTED, DEPRECATED, END_OF_LIFE or empty")
    wanted = (status or "").upper()
    out = {}
    for name, info in sorted(PROVIDERS.items()):
        auth = {"NONE": {"enabled": not info.external, "tokens": []},
                "HEADER": {"enabled": info.external, "tokens": [
                    {"accepted": "x-embedding-api-key", "forwarded": "Authorization"}]},
                "SHARED_SECRET": {"enabled": info.external, "tokens": [
                    {"accepted": "providerKey", "forwarded": "Authorization"}]}}
        models = [{"name": m.name, "apiModelSupport": {"status": "SUPPORTED"},
                   "vectorDimension": m.dimension, "parameters": []}
                  for m in sorted(info.models, key=lambda m: m.name)
                  if wanted in ("", "SUPPORTED")]
        out[name] = {"displayName": info.display_name, "url": info.url,
                     "supportedAuthentication": auth, "parameters": [], "models": models}
    return Result(status={"embeddingProviders": out})


KEYSPACE_COMMANDS = {
    "createCollection": create_collection,
    "findCollections": find_collections,
    "deleteCollection": delete_collection,
}
GENERAL_COMMANDS = {
    "createKeyspace": create_keyspace,
    "dropKeyspace": drop_keyspace,
    "findKeyspaces": find_keyspaces,
    "findEmbeddingProviders": find_embedding_providers,
}
