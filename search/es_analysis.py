"""Analysis settings for Elasticsearch, for whichever analysis the cluster offers.

* ``plugin``: kb's own stable analysis plugin (``analysis-kb``, search/es-plugin), installed by
  scripts/services/elasticsearch.sh on the minimal distribution used in development and CI.
* ``builtin``: a full Elasticsearch distribution (analysis-common module), e.g. an existing cluster.

Both define the same analyzer names, so the mappings (search/documents.py) do not change.
"""

PLUGIN = {
    "filter": {
        "kb_no_stop": {"type": "kb_norwegian_stop"},
        "kb_en_stop": {"type": "kb_english_stop"},
        "kb_no_stem": {"type": "kb_norwegian_stem", "variant": "minimal", "bokmaal": True, "nynorsk": True},
        "kb_en_stem": {"type": "kb_english_stem", "variant": "porter", "possessive": True},
        "kb_fold": {"type": "kb_ascii_folding", "preserve_original": False},
        "kb_fold_keep": {"type": "kb_ascii_folding", "preserve_original": True},
        "kb_lower": {"type": "kb_lowercase"},
        "kb_scand": {"type": "kb_scandinavian_folding"},
    },
}
BUILTIN = {
    "filter": {
        "kb_no_stop": {"type": "stop", "stopwords": "_norwegian_"},
        "kb_en_stop": {"type": "stop", "stopwords": "_english_"},
        "kb_no_stem": {"type": "stemmer", "language": "minimal_norwegian"},
        "kb_en_stem": {"type": "stemmer", "language": "english"},
        "kb_fold": {"type": "asciifolding", "preserve_original": False},
        "kb_fold_keep": {"type": "asciifolding", "preserve_original": True},
        "kb_lower": {"type": "lowercase"},
        "kb_scand": {"type": "scandinavian_folding"},
    },
}
ANALYZERS = {
    "kb_norwegian": ["kb_lower", "kb_no_stop", "kb_no_stem"],
    "kb_norwegian_folded": ["kb_lower", "kb_no_stop", "kb_no_stem", "kb_fold"],
    "kb_english": ["kb_lower", "kb_en_stop", "kb_en_stem"],
    "kb_name": ["kb_lower", "kb_fold_keep"],
    "kb_name_simple": ["kb_lower", "kb_scand", "kb_fold"],  # Sæther as Sather, Bråten as Braten
    "kb_spell": ["kb_lower"],
}


def settings(flavour: str) -> dict:
    base = PLUGIN if flavour == "plugin" else BUILTIN
    return {
        "filter": base["filter"],
        "analyzer": {name: {"type": "custom", "tokenizer": "standard", "filter": chain}
                     for name, chain in ANALYZERS.items()},
        # normalizers may only use core filters
        "normalizer": {"kb_keyword": {"type": "custom", "filter": ["lowercase"]}},
    }


def detect(client) -> str:
    """``plugin`` when analysis-kb is installed on every node, else ``builtin`` (analysis-common)."""
    nodes = client.nodes.info(metric="plugins")["nodes"].values()
    if nodes and all(any(p["name"] == "analysis-kb" for p in n.get("plugins", [])) for n in nodes):
        return "plugin"
    if nodes and all(any(m["name"] == "analysis-common" for m in n.get("modules", [])) for n in nodes):
        return "builtin"
    raise RuntimeError("Elasticsearch has neither kb's analysis plugin (analysis-kb) nor the analysis-common "
                       "module; see docs/search.md.")
