#!/usr/bin/env bash
# pip-audit over the pinned requirements (requirements-dev.txt, which includes requirements.txt), against
# PyPI's vulnerability data (KB_AUDIT_SERVICE=osv to use OSV instead). Fails on any known vulnerability
# that scripts/audit-allowlist.txt does not list (one ID per line, each with the reason it is acceptable).
#
# pip-audit cannot audit a package whose vulnerability data it cannot fetch: it then says "not found" and
# finds nothing. Those packages are listed as a warning; KB_AUDIT_STRICT=1 makes them fail the audit.
set -euo pipefail
cd "$(dirname "$0")/.."
ignores=()
while read -r id _; do
  [[ -z "$id" || "$id" == \#* ]] || ignores+=(--ignore-vuln "$id")
done < scripts/audit-allowlist.txt
report=$(mktemp)
trap 'rm -f "$report"' EXIT
set +e
.venv/bin/python -m pip_audit -r requirements.txt -r requirements-dev.txt --no-deps --disable-pip --progress-spinner off \
  --vulnerability-service "${KB_AUDIT_SERVICE:-pypi}" --format json --output "$report" "${ignores[@]}" 2>/dev/null
status=$?
set -e
.venv/bin/python - "$report" "$status" "${KB_AUDIT_STRICT:-0}" <<'PY'
import json, sys

report, status, strict = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
try:
    dependencies = json.load(open(report))["dependencies"]
except (OSError, ValueError, KeyError):
    sys.exit(f"audit: pip-audit failed (exit {status}) without a report")
vulnerable = [d for d in dependencies if d.get("vulns")]
unaudited = [d for d in dependencies if d.get("skip_reason")]
for d in vulnerable:
    for v in d["vulns"]:
        fixed = ", ".join(v.get("fix_versions") or []) or "no fixed version yet"
        print(f"audit: {d['name']} {d['version']}: {v['id']} (fixed in {fixed}) {' '.join(v.get('aliases') or [])}")
if unaudited:
    print(f"audit: WARNING: {len(unaudited)} of {len(dependencies)} packages could not be audited (their "
          f"vulnerability data was not reachable): {', '.join(d['name'] for d in unaudited)}")
print(f"audit: {len(dependencies) - len(unaudited)} packages audited, {len(vulnerable)} with known vulnerabilities"
      " (allow-list: scripts/audit-allowlist.txt)")
if vulnerable or (strict and unaudited):
    sys.exit(1)
PY
