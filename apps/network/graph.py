"""The co-authorship network: researchers linked by the studies they wrote together.

One query reads (study, researcher, year) for every linked author of the selected studies; pairs
are counted in Python; networkx computes each node's centrality. The answer is in the shape
d3-force takes directly: ``{"nodes": [...], "links": [...]}`` with ``source``/``target`` ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations
from dataclasses import dataclass, field

import networkx as nx
from django.db.models import Exists, OuterRef

from apps.common import collector
from apps.common.sql import id_list
from apps.researchers.models import Affiliation, Institution, Researcher
from apps.studies.models import Authorship, Status, Study
from apps.topics.models import Topic

from search.selection import expand_tree

CENTRALITIES = {
    "degree": "share of the other researchers a researcher has written with (networkx degree_centrality)",
    "eigenvector": "connected to well-connected researchers, weighted by shared studies (networkx "
                   "eigenvector_centrality)",
    "betweenness": "lies on the shortest paths between others: a bridge between groups (networkx "
                   "betweenness_centrality; estimated from a sample of sources in large networks)",
}
#: Edge visits the slower centralities may spend (about 0.3 s in CPython); see ``_centrality``.
WORK_BUDGET = 250_000
MIN_ITERATIONS = 10
MIN_SOURCES = 10


@dataclass
class NetworkQuery:
    topic_slugs: list[str] = field(default_factory=list)   # any of; each includes its sub-topics
    institution_ids: list[int] = field(default_factory=list)  # researchers affiliated with any (and sub-units)
    year_from: int | None = None
    year_to: int | None = None
    members_only: bool = False
    include_institutions: bool = False
    min_weight: int = 1
    centrality: str = "degree"
    include_drafts: bool = False


def researcher_node_id(pk):
    return f"r{pk}"


def institution_node_id(pk):
    return f"i{pk}"


def _authorships(q: NetworkQuery):
    rows = Authorship.objects.filter(researcher__isnull=False).order_by()
    if not q.include_drafts:
        rows = rows.filter(study__status=Status.PUBLISHED)
    if q.year_from is not None:
        rows = rows.filter(study__year__gte=q.year_from)
    if q.year_to is not None:
        rows = rows.filter(study__year__lte=q.year_to)
    if q.topic_slugs:
        roots = Topic.objects.filter(slug__in=q.topic_slugs).values_list("id", flat=True)
        topic_ids = expand_tree(Topic, roots)
        rows = rows.filter(Exists(Study.topics.through.objects.filter(study_id=OuterRef("study_id"),
                                                                      topic_id__in=topic_ids or [-1])))
    if q.members_only:
        rows = rows.filter(researcher__member_since__isnull=False)
    if q.institution_ids:
        ids = expand_tree(Institution, q.institution_ids)
        rows = rows.filter(Exists(Affiliation.objects.filter(researcher_id=OuterRef("researcher_id"),
                                                             institution_id__in=ids)))
    return rows.values_list("study_id", "researcher_id", "study__year")


def _centrality(graph, name):
    """Centrality by ``name`` within a fixed budget of work; returns (values, measure used, note).

    Degree centrality is linear. Eigenvector and betweenness centrality are pure-Python networkx
    (kb has no numpy/scipy) and grow with the links: eigenvector centrality gets ``WORK_BUDGET /
    (2 x links)`` iterations, betweenness ``WORK_BUDGET / links`` sampled sources (seeded, so
    repeatable). When that is too little to mean anything, or the iteration does not converge,
    degree centrality is returned instead and the note says why.
    """
    n, links = graph.number_of_nodes(), graph.number_of_edges()
    if n == 0 or name == "degree" or not links:
        return nx.degree_centrality(graph) if n else {}, name, None
    too_big = (f"The network has {links} links, too many for {name} centrality within the time budget; degree "
               f"centrality is shown. Narrow it (topic, institution, years, members_only, min_weight).")
    if name == "eigenvector":
        iterations = WORK_BUDGET // (2 * links)
        if iterations < MIN_ITERATIONS:
            return nx.degree_centrality(graph), "degree", too_big
        start = {node: 1.0 + sum(d["weight"] for d in graph._adj[node].values()) for node in graph}
        try:
            return nx.eigenvector_centrality(graph, max_iter=iterations, tol=1e-6, weight="weight",
                                             nstart=start), name, None
        except nx.PowerIterationFailedConvergence:
            return nx.degree_centrality(graph), "degree", (
                f"Eigenvector centrality did not converge within {iterations} iterations; degree centrality "
                "is shown. Narrow the network with filters.")
    sources = min(n, WORK_BUDGET // links)
    if sources < MIN_SOURCES and sources < n:
        return nx.degree_centrality(graph), "degree", too_big
    values = nx.betweenness_centrality(graph, k=sources if sources < n else None, seed=0)
    return values, name, (None if sources >= n else f"Estimated from {sources} of {n} researchers as sources.")


def _pairs(by_study, study_year):
    """Co-author pairs: (a, b) with a < b -> [shared studies, first year, last year]."""
    edges = {}
    for study_id, people in by_study.items():
        if len(people) < 2:
            continue
        year = study_year[study_id]
        for a, b in combinations(sorted(people), 2):
            edge = edges.get((a, b))
            if edge is None:
                edges[(a, b)] = [1, year, year]
                continue
            edge[0] += 1
            if year is not None:
                if edge[1] is None or year < edge[1]:
                    edge[1] = year
                if edge[2] is None or year > edge[2]:
                    edge[2] = year
    return edges


def _graph(nodes, edges):
    """A networkx graph of the researchers, weighted by shared studies.

    Filled through its adjacency dicts, the structure ``add_edges_from`` builds (one data dict shared
    by both directions), because for tens of thousands of links that is several times faster.
    """
    graph = nx.Graph()
    graph._node.update((n, {}) for n in nodes)
    adj = {n: {} for n in nodes}
    for (a, b), edge in edges.items():
        adj[a][b] = adj[b][a] = {"weight": edge[0]}
    graph._adj.update(adj)
    return graph


def build_network(q: NetworkQuery) -> dict:
    # a few hundred thousand small acyclic objects: without the pause, repeated full collections took
    # 30-40 % of the time for 2,000 researchers
    with collector.paused():
        return _build(q)


def _build(q: NetworkQuery) -> dict:
    by_study = defaultdict(set)
    study_year = {}
    for study_id, researcher_id, year in _authorships(q):
        by_study[study_id].add(researcher_id)
        study_year[study_id] = year
    study_count = Counter(researcher_id for people in by_study.values() for researcher_id in people)

    edges = _pairs(by_study, study_year)
    if q.min_weight > 1:
        edges = {k: v for k, v in edges.items() if v[0] >= q.min_weight}
    graph = _graph(study_count, edges)
    centrality, measure, note = _centrality(graph, q.centrality)
    strength = Counter()
    for (a, b), e in edges.items():
        strength[a] += e[0]
        strength[b] += e[0]

    node_id = {pk: researcher_node_id(pk) for pk in study_count}
    people = Researcher.objects.filter(id__in=id_list(study_count)).values_list(
        "id", "given_name", "family_name", "member_since")
    nodes = [{
        "id": node_id[pk], "type": "researcher", "object_id": pk,
        "label": f"{given} {family}".strip(), "member": member_since is not None,
        "studies": study_count[pk], "degree": len(graph._adj[pk]), "weighted_degree": strength[pk],
        "centrality": round(centrality.get(pk, 0.0), 6),
    } for pk, given, family, member_since in people]
    nodes.sort(key=lambda n: (-n["centrality"], -n["degree"], n["label"]))
    links = [{"source": node_id[a], "target": node_id[b], "type": "coauthor", "weight": e[0], "first_year": e[1],
              "last_year": e[2]} for (a, b), e in edges.items()]

    if q.include_institutions and study_count:
        _add_institutions(nodes, links, study_count)

    return {
        "nodes": nodes,
        "links": links,
        "meta": {"researchers": len(study_count), "coauthor_links": len(edges), "studies": len(by_study),
                 "centrality": measure, "centrality_description": CENTRALITIES[measure],
                 "centrality_note": note},
    }


def _add_institutions(nodes, links, researcher_ids):
    rows = (Affiliation.objects.filter(researcher_id__in=id_list(researcher_ids)).order_by()
            .values_list("researcher_id", "institution_id", "institution__name_nb", "institution__short_name",
                         "start_date", "end_date"))
    degree = defaultdict(int)
    labels = {}
    seen = set()
    for researcher_id, institution_id, name, short, start, end in rows:
        if (researcher_id, institution_id) in seen:
            continue
        seen.add((researcher_id, institution_id))
        labels[institution_id] = name if not short else f"{name} ({short})"
        degree[institution_id] += 1
        links.append({"source": researcher_node_id(researcher_id), "target": institution_node_id(institution_id),
                      "type": "affiliation", "weight": 1, "first_year": start.year if start else None,
                      "last_year": end.year if end else None})
    nodes.extend({"id": institution_node_id(pk), "type": "institution", "object_id": pk, "label": labels[pk],
                  "member": None, "studies": None, "degree": degree[pk], "weighted_degree": degree[pk],
                  "centrality": None} for pk in sorted(labels))
