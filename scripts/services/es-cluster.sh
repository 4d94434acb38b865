#!/usr/bin/env bash
# Start/stop/status a private 3-node Elasticsearch cluster on loopback, for tests and drills.
#
#   scripts/services/es-cluster.sh [start|stop|status|url]     (default: start)
#
# Each node is scripts/services/elasticsearch.sh with its own ports and directory (same distribution,
# same kb analysis plugin, JDK 17, user kb-es), all three master-eligible data nodes of the cluster
# "kb-cluster": HTTP 9211-9213, transport 9311-9313, data/logs/config under
# ${KB_ES_CLUSTER_DIR:-/var/lib/kb-services/es-cluster}/node<N>, 512 MB heap each. kb's index on it gets
# a replica with ELASTICSEARCH_REPLICAS=1 (every shard on two nodes: one node may die).
#
# Idempotent: running nodes are kept, missing ones (e.g. one a drill killed) are started, and `start`
# returns when all nodes have joined and the cluster is green (or, with no index yet, has no unassigned
# shard). `url` prints the ELASTICSEARCH_URL of the cluster (the three nodes, comma-separated).
#
# Environment:
#   KB_ES_CLUSTER_DIR         default /var/lib/kb-services/es-cluster
#   KB_ES_CLUSTER_HTTP_PORTS  default "9211 9212 9213"; KB_ES_CLUSTER_TRANSPORT_PORTS "9311 9312 9313"
#   KB_ES_CLUSTER_TIMEOUT     seconds to wait for green, default 180
#   KB_ES_JAVA_OPTS           per node, default "-Xms512m -Xmx512m"
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${KB_ES_CLUSTER_DIR:-/var/lib/kb-services/es-cluster}"
read -r -a HTTP_PORTS <<<"${KB_ES_CLUSTER_HTTP_PORTS:-9211 9212 9213}"
read -r -a TRANSPORT_PORTS <<<"${KB_ES_CLUSTER_TRANSPORT_PORTS:-9311 9312 9313}"
TIMEOUT="${KB_ES_CLUSTER_TIMEOUT:-180}"
N=${#HTTP_PORTS[@]}
[[ ${#TRANSPORT_PORTS[@]} -eq $N ]] || { echo "es-cluster: as many transport ports as HTTP ports" >&2; exit 2; }

say() { echo "es-cluster: $*"; }

join_by() { local IFS="$1"; shift; echo "$*"; }

seeds=() masters=() urls=()
for ((i = 0; i < N; i++)); do
    seeds+=("127.0.0.1:${TRANSPORT_PORTS[i]}")
    masters+=("kb-es-c$((i + 1))")
    urls+=("http://127.0.0.1:${HTTP_PORTS[i]}")
done

node() {   # node <index> <action>: elasticsearch.sh for that member
    local i="$1" action="$2"
    KB_SERVICES_DIR="$DIR" KB_ES_NODE="node$((i + 1))" KB_ES_NODE_NAME="kb-es-c$((i + 1))" \
        KB_ES_CLUSTER_NAME=kb-cluster KB_ES_PORT="${HTTP_PORTS[i]}" KB_ES_TRANSPORT_PORT="${TRANSPORT_PORTS[i]}" \
        KB_ES_SEED_HOSTS="$(join_by , "${seeds[@]}")" KB_ES_INITIAL_MASTERS="$(join_by , "${masters[@]}")" \
        KB_ES_WAIT=none "$HERE/elasticsearch.sh" "$action" 2>&1 | sed "s/^elasticsearch:/es-cluster node$((i + 1)):/"
    return "${PIPESTATUS[0]}"
}

health() {   # the cluster's health as any live node sees it (JSON), or nothing
    local u
    for u in "${urls[@]}"; do
        if curl -sf --max-time 5 "$u/_cluster/health?filter_path=status,number_of_nodes,unassigned_shards,initializing_shards,relocating_shards" 2>/dev/null; then
            return 0
        fi
    done
}

wait_green() {
    local deadline=$((SECONDS + TIMEOUT)) h=""
    while ((SECONDS < deadline)); do
        h="$(health || true)"
        if [[ "$h" == *'"status":"green"'* && "$h" == *"\"number_of_nodes\":$N,"* ]]; then
            say "green, $N nodes: $(join_by , "${urls[@]}")"
            return 0
        fi
        sleep 1
    done
    say "ERROR: not green with $N nodes after ${TIMEOUT}s (last: ${h:-no answer})" >&2
    return 1
}

case "${1:-start}" in
    start)
        for ((i = 0; i < N; i++)); do node "$i" start; done
        wait_green ;;
    stop)
        for ((i = 0; i < N; i++)); do node "$i" stop; done ;;
    status)
        rc=0
        for ((i = 0; i < N; i++)); do node "$i" status || rc=$?; done
        say "health: $(health || echo 'no answer')"
        exit "$rc" ;;
    url)
        join_by , "${urls[@]}" ;;
    *)
        echo "usage: $0 [start|stop|status|url]" >&2; exit 2 ;;
esac
