"""Words of captions: one tokenizer for every text field, and word ids in a vocabulary.

    tokenize("Un petit rond rouge, en haut à gauche!") -> ["un", "petit", "rond", "rouge", "en", "haut", "à", "gauche"]
    encode(["a red circle"], vocab, 16) -> int64 (1, 16) ids, 0 = padding, 1 = a word not in vocab

Tokens are maximal runs of letters (accents kept, after Unicode NFKC and lower-casing) or of digits;
everything else separates them. The same function reads training captions and users' prompts, so a
prompt is read exactly as the captions the encoder learned from.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np

SPECIALS = ("<pad>", "<unk>")  # ids 0 and 1 of every vocabulary
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|[\u0300-\u036f])*|\d+")  # letter runs (marks kept) or digit runs


def tokenize(text: str) -> list[str]:
    """NFKC, lower-case, then maximal runs of letters or of digits; everything else separates
    ("medium-sized" -> medium, sized; "l'image" -> l, image)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def encode(texts: list[str], vocab: tuple[str, ...] | dict[str, int], length: int) -> np.ndarray:
    """Word ids (len(texts), length), zero-padded; unknown words are 1; longer texts are cut."""
    index = vocab if isinstance(vocab, dict) else {w: i for i, w in enumerate(vocab)}
    out = np.zeros((len(texts), length), np.int64)
    for i, text in enumerate(texts):
        ids = [index.get(w, 1) for w in tokenize(text)][:length]
        out[i, :len(ids)] = ids
    return out


def decode_ids(ids: list[int], vocab: tuple[str, ...]) -> str:
    """Word ids back to words (padding dropped, unknown shown as <unk>)."""
    return " ".join(vocab[i] if 0 <= i < len(vocab) else "<unk>" for i in ids if i != 0)
