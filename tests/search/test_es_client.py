"""ELASTICSEARCH_URL with several nodes: how the list is read, and failover when a node is down.

The failover tests use the real test Elasticsearch beside a real address where nothing listens (a
node that is down: connection refused), so each request the client sends there must be retried on the
live node without the user noticing.
"""

import socket
import uuid

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from search.backends import get_backend, reset_backend
from search.backends.base import SearchRequest, SearchUnavailable
from search.backends.es_client import client_options, make_client, node_list
from search.query import parse
from tests import factories
from tests.search.conftest import TEST_PREFIX, _require_es, drop_indices


@pytest.mark.parametrize("url, nodes", [
    ("http://127.0.0.1:9200", ["http://127.0.0.1:9200"]),
    ("https://es1:9200, https://es2:9200/ ,https://es3:9200",
     ["https://es1:9200", "https://es2:9200", "https://es3:9200"]),
    ("http://a:9200,,http://a:9200,", ["http://a:9200"]),
])
def test_node_list_reads_comma_separated_nodes(url, nodes):
    assert node_list(url) == nodes


@pytest.mark.parametrize("url", ["", " , ", "es1:9200", "127.0.0.1:9200,http://b:9200", "ftp://x:21", "http://"])
def test_node_list_rejects_what_is_not_a_node_url(url):
    with pytest.raises(ImproperlyConfigured, match="ELASTICSEARCH_URL"):
        node_list(url)


def test_several_nodes_retry_on_the_others_and_after_a_timeout():
    one = client_options({"URL": "http://a:9200"})
    three = client_options({"URL": "http://a:9200,http://b:9200,http://c:9200", "TIMEOUT": 4})
    assert (one["max_retries"], one["retry_on_timeout"]) == (1, False)
    assert (three["max_retries"], three["retry_on_timeout"], three["request_timeout"]) == (2, True, 4)


def test_credentials_and_ca_reach_the_client(tmp_path):
    options = client_options({"URL": "https://a:9200", "API_KEY": "a2V5OnNlY3JldA==", "USERNAME": "kb",
                              "PASSWORD": "pw", "CA_CERTS": "/etc/kb/ca.pem"})
    assert options["api_key"] == "a2V5OnNlY3JldA==" and "basic_auth" not in options  # the key wins
    assert options["ca_certs"] == "/etc/kb/ca.pem"
    assert client_options({"URL": "https://a:9200", "USERNAME": "kb", "PASSWORD": "pw"})["basic_auth"] == ("kb", "pw")
    client = make_client({"URL": "https://a:9200,https://b:9200"})
    assert sorted(n.base_url for n in client.transport.node_pool.all()) == ["https://a:9200", "https://b:9200"]


def test_the_client_encodes_kb_s_values_with_orjson_and_reads_them_back():
    """Bulk bodies (NDJSON) and searches (JSON) go through orjson: dates, decimals and float32 vectors
    are written as Elasticsearch expects them, and the answer reads back as plain values."""
    import datetime
    import decimal
    import json

    import numpy as np

    serializers = make_client({"URL": "http://a:9200"}).transport.serializers
    doc = {"id": 7, "created_at": datetime.datetime(2026, 12, 7, 18, 30, tzinfo=datetime.timezone.utc),
           "day": datetime.date(2026, 12, 7), "score": decimal.Decimal("1.5"), "title": "Rusbehandling – ø",
           "vector": np.array([0.25, -1.0], dtype=np.float32)}
    ndjson = serializers.get_serializer("application/x-ndjson").dumps([{"index": {"_id": 7}}, doc])
    action, source = [json.loads(line) for line in ndjson.splitlines()]
    assert action == {"index": {"_id": 7}}
    assert source == {"id": 7, "created_at": "2026-12-07T18:30:00+00:00", "day": "2026-12-07", "score": 1.5,
                      "title": "Rusbehandling – ø", "vector": [0.25, -1.0]}
    plain = serializers.get_serializer("application/json")
    assert plain.loads(plain.dumps({"query": {"ids": {"values": [1, 2]}}, 3: "x"})) == \
        {"query": {"ids": {"values": [1, 2]}}, "3": "x"}


def _down_node() -> str:
    """The URL of a loopback port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def two_nodes_one_down(settings, db):
    down = _down_node()
    config = dict(django_settings.KB_SEARCH, URL=f"{down},{_require_es()}", INDEX_PREFIX=f"{TEST_PREFIX}-{uuid.uuid4().hex[:10]}")
    settings.KB_SEARCH = config
    reset_backend()
    backend = get_backend()
    backend.setup()
    yield backend, down
    drop_indices(backend)


def test_searches_and_writes_go_on_when_one_of_two_nodes_is_down(two_nodes_one_down, anon_client):
    backend, _ = two_nodes_one_down
    study = factories.study(title="Failover of assertive community treatment")
    backend.index("studies", [study.id])  # a write through the pool
    backend.refresh()
    for _ in range(12):  # round robin over the live-looking nodes: some go to the down node first
        answer = anon_client.get("/api/v1/search/", {"q": "failover"})
        assert answer.status_code == 200
        assert [r["id"] for r in answer.json()["results"]] == [study.id]


def test_with_every_node_down_search_says_unavailable(settings, db):
    settings.KB_SEARCH = dict(django_settings.KB_SEARCH, URL=f"{_down_node()},{_down_node()}", INDEX_PREFIX="kbtest-down")
    reset_backend()
    try:
        with pytest.raises(SearchUnavailable):
            get_backend().search(SearchRequest(query=parse("failover")))
    finally:
        reset_backend()
