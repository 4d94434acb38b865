"""The Elasticsearch client kb's backend talks through, built from ``settings.KB_SEARCH``.

``ELASTICSEARCH_URL`` names one node or several, comma-separated
(``https://es1:9200,https://es2:9200,https://es3:9200``). With several, the official client keeps
them in a pool, sends each request to the next live node and, when a node does not answer
(connection refused or reset, a timeout, 502/503/504), marks it dead for a growing back-off and
retries the request on another node, so losing one node costs a search nothing. No sniffing: kb
talks to the nodes it is given, which is what works behind a load balancer, in a container network
and on loopback alike.

A secured cluster: ``ELASTICSEARCH_CA_CERTS`` (the CA that signed the nodes' HTTP certificates, PEM),
and ``ELASTICSEARCH_API_KEY`` (the encoded key, as Elasticsearch returns it) or
``ELASTICSEARCH_USERNAME`` + ``ELASTICSEARCH_PASSWORD``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson
from django.core.exceptions import ImproperlyConfigured
from elasticsearch import Elasticsearch
from elasticsearch.serializer import JsonSerializer, NdjsonSerializer


def node_list(url: str | None) -> list[str]:
    """``"http://a:9200, http://b:9200"`` -> ``["http://a:9200", "http://b:9200"]``; every node an
    http(s) URL with a host, no duplicates, at least one."""
    nodes = []
    for part in (url or "").split(","):
        node = part.strip().rstrip("/")
        if not node:
            continue
        parts = urlsplit(node)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImproperlyConfigured(
                f"ELASTICSEARCH_URL: {node!r} is not a node URL; expected e.g. https://es1:9200 "
                "(several nodes: comma-separated)")
        if node not in nodes:
            nodes.append(node)
    if not nodes:
        raise ImproperlyConfigured("ELASTICSEARCH_URL names no node (e.g. http://127.0.0.1:9200)")
    return nodes


def client_options(config: dict) -> dict:
    """The client's keyword arguments besides the nodes: timeouts, failover, credentials, TLS."""
    nodes = node_list(config.get("URL"))
    options = {
        "request_timeout": config.get("TIMEOUT", 10),
        # One node: one retry (a dropped keep-alive connection). Several: every other node once, and a
        # node that hangs past the timeout is given up for another (writes are idempotent: by id).
        "max_retries": max(1, len(nodes) - 1),
        "retry_on_timeout": len(nodes) > 1,
    }
    if config.get("API_KEY"):
        options["api_key"] = config["API_KEY"]
    elif config.get("USERNAME"):
        options["basic_auth"] = (config["USERNAME"], config.get("PASSWORD") or "")
    if config.get("CA_CERTS"):
        options["ca_certs"] = config["CA_CERTS"]
    return options


class _Orjson:
    """Requests and responses through orjson instead of the standard library's json: a bulk of study
    documents is encoded 4-5x faster, a search answer with highlights decoded 2-3x faster (the client's
    own ``OrjsonSerializer`` covers plain JSON only, not the NDJSON of bulk and msearch). Types orjson
    does not know go through the client's usual ``default``."""

    OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

    def json_dumps(self, data):
        return orjson.dumps(data, default=self.default, option=self.OPTIONS)

    def json_loads(self, data):
        return orjson.loads(data)


class OrjsonJsonSerializer(_Orjson, JsonSerializer):
    pass


class OrjsonNdjsonSerializer(_Orjson, NdjsonSerializer):
    pass


SERIALIZERS = {JsonSerializer.mimetype: OrjsonJsonSerializer(), NdjsonSerializer.mimetype: OrjsonNdjsonSerializer()}


def make_client(config: dict) -> Elasticsearch:
    return Elasticsearch(node_list(config.get("URL")), serializers=SERIALIZERS, **client_options(config))
