"""Re-embed a collection into a new model's collection (seed 002, "Change the embedding
provider configuration for a collection or table").

A collection's embedding provider and model can not change once it is created, so a new
model means a new collection: export the documents, drop their ``$vector``, and load them
into a collection with the new ``service``, each text as ``$vectorize``. :class:`Migration`
does it in steps the user runs, each a cell:

1. :meth:`~Migration.estimate`: a dry run. How many documents, tokens and provider requests,
   which texts are over the new model's token limit; nothing is written.
2. :meth:`~Migration.run`: creates the new collection (if needed) and copies what is not
   there yet, with a progress bar. Interrupted, it picks up where it stopped: documents
   already copied are neither copied nor embedded again.
3. :meth:`~Migration.verify`: the counts match, and sample searches compared between the two
   models (:func:`vectorize_kit.viz.compare_models`); with labelled queries (each with its
   right document, e.g. the help centre's questions in four languages), whether the new
   model finds the right documents more often: recall@k and MRR per language, old vs new.
4. :meth:`~Migration.switch`: the new collection for the application to use, and, if asked,
   the old one dropped (its collection slot freed).

:class:`ColumnMigration` does the same for a table: a new vector column with the new
service, filled from a text column, compared, and the old column dropped.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from typing import Any

from .api import Collection, Table
from .commands import chunk_id
from .embedding.tokens import count_tokens
from .errors import DataAPIError
from .models import PROVIDERS, LongTextPolicy, ModelInfo, find_model

__all__ = ["Migration", "ColumnMigration", "MigrationEstimate", "MigrationReport",
           "Verification"]


def _model(service: dict) -> ModelInfo:
    model = find_model(service.get("provider", ""), service.get("modelName", ""))
    if model is None:
        raise DataAPIError(
            "INVALID_CREATE_COLLECTION_OPTIONS",
            f"No model {service.get('modelName')!r} of provider {service.get('provider')!r} "
            "to migrate to: the catalogue has "
            + "; ".join(f"{p}: {[m.name for m in info.models]}" for p, info in
                        PROVIDERS.items()) + ".")
    return model


_SLICE = 500  # documents embedded and stored at a time by a run


def _bar(total: int, progress: Any, description: str) -> Any:
    """A progress bar (tqdm: a widget in a notebook), or one that shows nothing (for
    ``progress`` false, or a function, which is told ``(done, total)`` instead)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="doc",
                disable=progress is not True or total == 0)


def _key(doc_id: Any) -> str:
    return json.dumps(doc_id, sort_keys=True, default=str)


def _check_complete(check: Verification) -> None:
    """Refuse to switch before every document or row has been migrated."""
    if not check.ok:
        raise DataAPIError(
            "MIGRATION_NOT_COMPLETE",
            f"The migration is not complete: {str(check).rstrip('.')}. Run run() again, then "
            "switch().")


def _failures(exc: Any, todo_keys: list[Any], done: set[str]) -> list[tuple[Any, str]]:
    """Every document or row of ``todo_keys`` not ``done`` (keys as :func:`_key` makes them)
    after an insert failed, with the code of its error (a chunk of 100 refused whole names
    no document: its code goes to each of them)."""
    codes = {_key(i): e.error_code for e in exc.errors for i in (e.document_ids or [])}
    return [(k, codes.get(_key(k), exc.error_code)) for k in todo_keys
            if _key(k) not in done]


@dataclass(frozen=True)
class MigrationEstimate:
    """What a migration will do (a dry run): documents to copy, the texts and tokens to embed,
    the provider requests that takes, and the texts over the new model's token limit."""

    model: str
    documents: int  # in the source
    done: int  # already in the target (a migration run before)
    to_copy: int
    texts: int  # of the documents to copy, those with a text to embed
    tokens: int
    tokens_exact: bool
    requests: int  # embedding requests (batches of the provider's size)
    max_tokens: int
    over_limit: list[tuple[Any, int]] = field(default_factory=list)  # (_id or key, tokens)

    def __str__(self) -> str:
        about = "" if self.tokens_exact else "about "
        lines = [
            f"Migration to {self.model}: {self.to_copy:,} of {self.documents:,} documents to "
            f"copy ({self.done:,} already copied); {self.texts:,} texts to embed, "
            f"{about}{self.tokens:,} tokens in {self.requests:,} requests.",
        ]
        if self.over_limit:
            shown = ", ".join(f"{k!r} ({n} tokens)" for k, n in self.over_limit[:5])
            lines.append(f"{len(self.over_limit)} text(s) are over the model's limit of "
                         f"{self.max_tokens} tokens: {shown}"
                         + (f" and {len(self.over_limit) - 5} more"
                            if len(self.over_limit) > 5 else "")
                         + ". They are truncated, unless Migration(..., long_text=...) says "
                           "otherwise.")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<br>".join(html.escape(line) for line in str(self).splitlines())


@dataclass(frozen=True)
class MigrationReport:
    """What :meth:`Migration.run` did."""

    copied: int
    skipped: int  # already in the target
    failed: list[tuple[Any, str]]  # (_id or key, error code)

    def __str__(self) -> str:
        text = f"Copied {self.copied:,} (skipped {self.skipped:,} already copied)"
        if self.failed:
            text += (f"; {len(self.failed)} failed, e.g. {self.failed[0][0]!r} "
                     f"({self.failed[0][1]}): fix them and run again")
        return text + "."


@dataclass(frozen=True)
class Verification:
    """The migration checked: counts, the documents missing from the target, and the two
    models' searches compared (``comparison``: a :class:`~vectorize_kit.viz.ModelComparison`,
    or ``None`` without queries)."""

    source_count: int
    target_count: int
    missing: list[Any]
    comparison: Any = None

    @property
    def ok(self) -> bool:
        """Every document of the source is in the target (a text stored as chunks counts
        once: the target may then hold more)."""
        return not self.missing and self.target_count >= self.source_count

    def __str__(self) -> str:
        text = (f"{'OK' if self.ok else 'NOT DONE'}: {self.source_count:,} in the source, "
                f"{self.target_count:,} in the target")
        if self.target_count > self.source_count:
            text += " (long texts stored as chunks)"
        if self.missing:
            text += f"; {len(self.missing):,} not copied yet, e.g. {self.missing[0]!r}"
        if self.comparison is not None:
            table = self.comparison.table
            overlap = [c for c in table.columns if c.startswith("overlap@")][0]
            text += (f"; mean {overlap} of the {len(table)} queries: "
                     f"{table[overlap].mean():.2f}")
            quality = self.comparison.quality
            if quality is not None:  # the last row: all labelled queries
                old, new = [c for c in quality.columns if c.startswith("recall@")]
                text += (f"; {old.split()[0]} {quality[old].iloc[-1]:.2f} before, "
                         f"{quality[new].iloc[-1]:.2f} after")
        return text + "."

    def _repr_html_(self) -> str:
        out = html.escape(str(self))
        if self.comparison is not None:
            out += self.comparison._repr_html_()
        return out


class Migration:
    """Re-embed collection ``source`` into collection ``target`` with another model.

    Parameters
    ----------
    source
        The collection to migrate.
    target
        The new collection's name (in the source's keyspace).
    service
        The new embedding service, e.g. ``{"provider": "huggingface", "modelName":
        "BAAI/bge-small-en-v1.5", "authentication": {"providerKey": "my-key"}}``.
    metric
        The new collection's metric (default: the source's).
    text_field
        Where each document's text is: ``$vectorize`` (default), or a field of a collection
        of your own vectors.
    long_text
        What to do with texts over the new model's limit (``"truncate"``, ``"error"`` or
        ``"chunk"``).
    """

    def __init__(self, source: Collection, target: str, *, service: dict,
                 metric: str | None = None, text_field: str = "$vectorize",
                 long_text: str | LongTextPolicy = "truncate") -> None:
        if target == source.name:
            raise DataAPIError(
                "EXISTING_COLLECTION_DIFFERENT_SETTINGS",
                f"The migration's target must be a new collection, not {source.name!r} "
                "itself: choose another name (a collection can not be renamed; switch() "
                "gives the new one to use).")
        self.source = source
        self.target_name = target
        self.service = service
        self.model = _model(service)
        vector = source.options().get("vector") or {}
        self.metric = metric or vector.get("metric", "cosine")
        self.text_field = text_field
        self.long_text = long_text

    # -- reading -----------------------------------------------------------------------------
    def _documents(self) -> list[dict]:
        """The source's documents, whole, without their vectors."""
        docs = []
        for doc in self.source.find({}, projection={"*": 1}):
            doc.pop("$vector", None)
            if self.text_field != "$vectorize":
                doc.pop("$vectorize", None)
                if isinstance(doc.get(self.text_field), str):
                    doc["$vectorize"] = doc[self.text_field]
            docs.append(doc)
        return docs

    def _target(self, *, create: bool) -> Collection | None:
        db = self.source.database
        names = db.list_collection_names(keyspace=self.source.keyspace)
        if self.target_name in names:
            target = db.get_collection(self.target_name, keyspace=self.source.keyspace)
            service = (target.options().get("vector") or {}).get("service") or {}
            if (service.get("provider"), service.get("modelName")) != (
                    self.service.get("provider"), self.service.get("modelName")):
                raise DataAPIError(
                    "EXISTING_COLLECTION_DIFFERENT_SETTINGS",
                    f"Collection {self.target_name!r} exists with another embedding service "
                    f"({service.get('provider')}/{service.get('modelName')}): choose another "
                    "target name, or drop it first.")
            return target
        if not create:
            return None
        options = self.source.options()
        return db.create_collection(
            self.target_name, keyspace=self.source.keyspace, dimension=self.model.dimension,
            metric=self.metric, service=self.service, indexing=options.get("indexing"),
            default_id_type=(options.get("defaultId") or {}).get("type"))

    def _done(self, target: Collection | None) -> set[str]:
        """The source documents already in the target: by ``_id``, or by ``parent_id`` for a
        text stored as chunks (``long_text="chunk"``)."""
        if target is None:
            return set()
        done = set()
        for doc in target.find({}, projection={"_id": 1, "parent_id": 1, "chunk_index": 1}):
            done.add(_key(doc["_id"]))
            parent = doc.get("parent_id")
            if parent is not None and doc["_id"] == chunk_id(parent, doc.get("chunk_index")):
                done.add(_key(parent))  # a chunk (its _id says so), not a field of that name
        return done

    # -- the steps ---------------------------------------------------------------------------
    def estimate(self) -> MigrationEstimate:
        """A dry run: what :meth:`run` will copy and embed (nothing is written)."""
        docs = self._documents()
        done = self._done(self._target(create=False))
        todo = [d for d in docs if _key(d["_id"]) not in done]
        texts = [(d["_id"], d["$vectorize"]) for d in todo
                 if isinstance(d.get("$vectorize"), str)]
        counts, exact = count_tokens([self.model.passage_prefix + t for _, t in texts],
                                     self.model)
        batch = PROVIDERS[self.service["provider"]].max_batch_size
        return MigrationEstimate(
            model=self.model.name, documents=len(docs), done=len(docs) - len(todo),
            to_copy=len(todo), texts=len(texts), tokens=sum(counts), tokens_exact=exact,
            requests=math.ceil(len(texts) / batch), max_tokens=self.model.max_tokens,
            over_limit=[(i, n) for (i, _), n in zip(texts, counts)
                        if n > self.model.max_tokens])

    def run(self, *, progress: Any = True) -> MigrationReport:
        """Create the target collection if needed and copy every document not in it yet,
        each text embedded by the new model, 500 at a time. Run it again after an
        interruption or a failure: what was copied stays, the rest is done.

        ``progress``: a bar (``True``), none (``False``), or a function told ``(done,
        total)`` after each chunk of 100."""
        from .api import InsertManyError

        target = self._target(create=True)
        done = self._done(target)
        docs = self._documents()
        todo = [d for d in docs if _key(d["_id"]) not in done]
        failed: list[tuple[Any, str]] = []
        bar = _bar(len(todo), progress, f"migrating {self.source.name} to {self.target_name}")

        def tick(done: int) -> None:  # after each insertMany chunk of 100
            if callable(progress):
                progress(done, len(todo))
            bar.update(done - bar.n)

        try:
            # slices of a few hundred: each is embedded and stored before the next starts, so
            # an interruption loses at most one slice's embeddings
            for start in range(0, len(todo), _SLICE):
                part = todo[start : start + _SLICE]
                try:
                    target.insert_many(  # type: ignore[union-attr]
                        part, ordered=False, long_text=self.long_text,
                        progress=lambda done, _total, start=start: tick(start + done))
                except InsertManyError as exc:  # what is there now, chunked texts included
                    failed += _failures(exc, [d["_id"] for d in part], self._done(target))
        finally:
            bar.close()
        return MigrationReport(copied=len(todo) - len(failed), skipped=len(docs) - len(todo),
                               failed=failed)

    def verify(self, queries: Any = (), *, k: int = 10, **compare: Any) -> Verification:
        """Check the migration: both collections hold the same documents, and (with
        ``queries``) how the two models' searches agree; with labelled queries (a DataFrame
        such as :func:`~vectorize_kit.datasets.load_knowledge_base_queries`, or
        ``answers=``), recall@k and MRR per language of the old and the new collection.
        ``compare`` goes to :func:`~vectorize_kit.viz.compare_models` (``answers=``,
        ``by=``, ``color=``...)."""
        target = self._target(create=False)
        done = self._done(target)
        missing = [d["_id"] for d in self.source.find({}, projection={"_id": 1})
                   if _key(d["_id"]) not in done]
        comparison = None
        queries = queries if hasattr(queries, "columns") else list(queries)  # a DataFrame
        if len(queries) and target is not None:
            from .viz import compare_models

            comparison = compare_models(self.source, target, queries, k=k, **compare)
        return Verification(self.source.estimated_document_count(),
                            0 if target is None else target.estimated_document_count(),
                            missing, comparison)

    def switch(self, *, drop_source: bool = False) -> Collection:
        """The new collection, for the application to use from now on (a collection can not
        be renamed). With ``drop_source``, the old collection is dropped too, which frees its
        slot, only when every document has been copied."""
        _check_complete(self.verify())
        target = self._target(create=False)
        if target is None:
            raise DataAPIError(
                "MIGRATION_NOT_COMPLETE",
                f"Collection {self.target_name!r} does not exist yet: run() first.")
        if drop_source:
            self.source.drop()
        return target

    def __repr__(self) -> str:
        return (f"Migration({self.source.name!r} -> {self.target_name!r}, "
                f"model={self.model.name!r})")


class ColumnMigration:
    """Re-embed a table's text into a new vector column with another model (the table
    variant of :class:`Migration`): add the column, fill it, compare, drop the old one.

    Parameters
    ----------
    table
        The table.
    old_column, new_column
        The vector column in use, and the new one to add.
    service
        The new column's embedding service.
    text_column
        The column holding each row's text.
    metric
        The new column's vector index metric (default: the old column's).
    """

    def __init__(self, table: Table, *, old_column: str, new_column: str, service: dict,
                 text_column: str, metric: str | None = None,
                 long_text: str | LongTextPolicy = "truncate") -> None:
        self.table = table
        self.old_column, self.new_column = old_column, new_column
        self.service = service
        self.model = _model(service)
        self.text_column = text_column
        indexes = {i["definition"]["column"]: i for i in table.list_indexes()}
        old_index = indexes.get(old_column, {}).get("definition", {}).get("options", {})
        self.metric = metric or old_index.get("metric", "cosine")
        self.long_text = long_text

    def _rows_to_fill(self) -> tuple[list[dict], int]:
        """The rows whose new column is empty (their key and text), and the row count."""
        columns = self.table.definition()["columns"]
        names = self.table.primary_key_columns()
        wanted = [*names, self.text_column] + (
            [self.new_column] if self.new_column in columns else [])
        rows = [r for r in self.table.find({}, projection=dict.fromkeys(wanted, 1))]
        todo = [{**{n: r.get(n) for n in names}, self.new_column: r[self.text_column]}
                for r in rows if r.get(self.new_column) is None
                and isinstance(r.get(self.text_column), str)]
        return todo, len(rows)

    def estimate(self) -> MigrationEstimate:
        """A dry run: the rows to fill, their tokens and requests, the texts over the new
        model's limit (nothing is written)."""
        todo, total = self._rows_to_fill()
        names = self.table.primary_key_columns()
        counts, exact = count_tokens(
            [self.model.passage_prefix + r[self.new_column] for r in todo], self.model)
        batch = PROVIDERS[self.service["provider"]].max_batch_size
        return MigrationEstimate(
            model=self.model.name, documents=total, done=total - len(todo), to_copy=len(todo),
            texts=len(todo), tokens=sum(counts), tokens_exact=exact,
            requests=math.ceil(len(todo) / batch), max_tokens=self.model.max_tokens,
            over_limit=[(tuple(r[n] for n in names), c) for r, c in zip(todo, counts)
                        if c > self.model.max_tokens])

    def run(self, *, progress: bool | None = True) -> MigrationReport:
        """Add the new column and its vector index if needed, then fill every row whose new
        column is empty (an upsert of the key and the text). Resumable like
        :meth:`Migration.run`."""
        from .api import InsertManyError

        columns = self.table.definition()["columns"]
        if self.new_column not in columns:
            self.table.alter({"add": {"columns": {self.new_column: {
                "type": "vector", "dimension": self.model.dimension, "service": self.service}}}})
        if self.new_column not in {i["definition"]["column"]
                                   for i in self.table.list_indexes()}:
            self.table.create_vector_index(f"{self.table.name}_{self.new_column}_idx",
                                           self.new_column, metric=self.metric)
        todo, total = self._rows_to_fill()
        failed: list[tuple[Any, str]] = []
        copied = len(todo)
        if todo:
            try:
                self.table.insert_many(todo, ordered=False, progress=progress,
                                       long_text=self.long_text)
            except InsertManyError as exc:
                copied = len(exc.inserted_ids)
                names = self.table.primary_key_columns()
                failed = _failures(exc, [tuple(r[n] for n in names) for r in todo],
                                   {_key(i) for i in exc.inserted_id_tuples})
        return MigrationReport(copied=copied, skipped=total - len(todo), failed=failed)

    def verify(self, queries: Any = (), *, k: int = 10, **compare: Any) -> Verification:
        """Every row with a text has the new column filled; with ``queries``, the old and
        new columns' searches compared (labelled queries: recall@k and MRR, as
        :meth:`Migration.verify`)."""
        todo, total = self._rows_to_fill()
        names = self.table.primary_key_columns()
        comparison = None
        queries = queries if hasattr(queries, "columns") else list(queries)  # a DataFrame
        if len(queries):
            from .viz import compare_models

            comparison = compare_models(self.table, self.table, queries, k=k,
                                        vector_columns=(self.old_column, self.new_column),
                                        **compare)
        return Verification(total, total - len(todo),
                            [tuple(r[n] for n in names) for r in todo], comparison)

    def switch(self) -> Table:
        """Drop the old vector column (and its index), once every row is filled: searches
        then use the new column."""
        _check_complete(self.verify())
        for index in self.table.list_indexes():
            if index["definition"]["column"] == self.old_column:
                self.table.database.drop_table_index(index["name"],
                                                            keyspace=self.table.keyspace)
        return self.table.alter({"drop": {"columns": [self.old_column]}})

    def __repr__(self) -> str:
        return (f"ColumnMigration({self.table.name!r}: {self.old_column!r} -> "
                f"{self.new_column!r}, model={self.model.name!r})")
