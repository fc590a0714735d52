"""A user's own conditions beside a folder of images: captions.jsonl and/or tags.csv.

    captions.jsonl   one JSON object per line: {"file": "cats/001.png", "captions": ["a grey cat", ...]}
                     ("caption": "..." for a single one); paths relative to the folder
    tags.csv         a header `file,tags`, then one row per file: cats/001.png,"grey,sleeping"

They become fields of the folder's dataset: `caption` (tokens (N, K, L): K = the most captions any
file has, fewer repeat in turn; the vocabulary is every word of the captions) and `tags`
(multi_hot (N, T), T = the distinct tags in sorted order). Every image needs an entry and every
entry an image; a caption must say something. Each mismatch is one line naming the file, before
any image is decoded.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import FieldSpec, TensorData
from gankit.data.words import SPECIALS, encode, tokenize
from gankit.errors import UserError

CAPTIONS_FILE, TAGS_FILE = "captions.jsonl", "tags.csv"
MAX_WORDS = 32


@dataclass
class FolderConditions:
    captions: dict[str, list[str]] | None = None  # relative path -> its captions
    tags: dict[str, list[str]] | None = None  # relative path -> its tags


def _rel(root: Path, path: str | Path) -> str:
    return Path(path).relative_to(root).as_posix()


def _check_cover(root: Path, what: str, entries: dict[str, object], files: Sequence[str | Path]) -> None:
    have = {_rel(root, f) for f in files}
    missing = sorted(have - set(entries))
    if missing:
        raise UserError(f"{root / what}: image {missing[0]} has no entry" +
                        (f" (and {len(missing) - 1} more images)" if len(missing) > 1 else ""))
    orphans = sorted(set(entries) - have)
    if orphans:
        raise UserError(f"{root / what}: entry {orphans[0]} names no image file in {root}" +
                        (f" (and {len(orphans) - 1} more entries)" if len(orphans) > 1 else ""))


def _read_captions(root: Path, files: Sequence[str | Path]) -> dict[str, list[str]]:
    path = root / CAPTIONS_FILE
    out: dict[str, list[str]] = {}
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # -sig: a byte-order mark (Excel, Notepad) is not text
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} line {number} is not JSON ({exc.msg})") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise UserError(f"{path} line {number}: expected {{\"file\": ..., \"captions\": [...]}}")
        texts = entry.get("captions", [entry["caption"]] if "caption" in entry else [])
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise UserError(f"{path} line {number} ({entry['file']}): captions must be a list of strings")
        if not texts or any(not tokenize(t) for t in texts):
            raise UserError(f"{path} line {number}: {entry['file']} has an empty caption")
        out.setdefault(entry["file"], []).extend(texts)
    _check_cover(root, CAPTIONS_FILE, out, files)
    return out


def _read_tags(root: Path, files: Sequence[str | Path]) -> dict[str, list[str]]:
    path = root / TAGS_FILE
    out: dict[str, list[str]] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["file", "tags"]:
        raise UserError(f"{path}: the first line must be the header `file,tags`")
    for number, row in enumerate(rows[1:], 2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2:
            raise UserError(f"{path} line {number}: expected 2 columns (file,tags), got {len(row)}; quote a tag list "
                            "that holds commas")
        if row[0].strip() in out:
            raise UserError(f"{path} line {number}: {row[0].strip()} is listed twice; give each file one row")
        out[row[0].strip()] = [t.strip() for t in row[1].split(",") if t.strip()]
    _check_cover(root, TAGS_FILE, out, files)
    return out


def read_conditions(root: Path, files: Sequence[str | Path]) -> FolderConditions:
    """The captions and tags beside the images (None where the file is absent)."""
    return FolderConditions(_read_captions(root, files) if (root / CAPTIONS_FILE).is_file() else None,
                            _read_tags(root, files) if (root / TAGS_FILE).is_file() else None)


def attach(data: TensorData, root: Path, kept: Sequence[str | Path], cond: FolderConditions) -> TensorData:
    """`data` (rows = `kept` images, in order) with caption and tag fields added."""
    if cond.captions is None and cond.tags is None:
        return data
    keys = [_rel(root, p) for p in kept]
    if cond.captions is not None:
        per_file = [cond.captions[k] for k in keys]
        k = max(len(c) for c in per_file)
        texts = np.array([[c[i % len(c)] for i in range(k)] for c in per_file], dtype=np.str_)
        vocab = SPECIALS + tuple(sorted({w for c in per_file for t in c for w in tokenize(t)}))
        length = min(MAX_WORDS, max(len(tokenize(t)) for c in per_file for t in c))
        ids = encode([str(t) for t in texts.reshape(-1)], vocab, length).reshape(len(keys), k, length)
        data.fields["caption"] = torch.from_numpy(ids)
        data.specs["caption"] = FieldSpec("tokens", (k, length), len(vocab), vocab)
        data.texts["caption"] = texts
    if cond.tags is not None:
        names = tuple(sorted({t for k in keys for t in cond.tags[k]}))
        if not names:
            raise UserError(f"{root / TAGS_FILE} gives no tags at all")
        index = {n: i for i, n in enumerate(names)}
        hot = torch.zeros(len(keys), len(names), dtype=torch.uint8)
        for row, key in enumerate(keys):
            for t in cond.tags[key]:
                hot[row, index[t]] = 1
        data.fields["tags"] = hot
        data.specs["tags"] = FieldSpec("multi_hot", (len(names),), len(names), names)
    return data
