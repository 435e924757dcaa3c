#!/usr/bin/env bash
# Runs the real Abaco Tapis v3 functional suite (tests/ of the prod-v3 branch of a TACC/abaco
# git directory) against `python3 -m abaco_emulator serve` (the abaco_emulator python3 imports:
# install this checkout first), prints the failures one line each and the tally (last line).
#
# usage: run.sh ABACO_GIT_DIR [pytest args]
#   e.g. run.sh "$ABACO_GIT" tests/test_actors.py
#        run.sh "$ABACO_GIT" -k nonce
# env: V3KIT_REF (prod-v3), V3KIT_TIMEOUT (2400 s), V3KIT_WORK (${TMPDIR:-/tmp}/abaco-v3-conformance),
#      V3KIT_SERVE_ARGS (extra serve flags), V3KIT_CASE (snake|camel: serve --v3-case and the suite's case),
#      V3KIT_TENANT (unset as in Abaco's Makefile; 'dev' makes alternative_tenant_headers a 'tacc' token)
set -u
kit=$(cd "$(dirname "$0")" && pwd)
die() { echo "v3kit: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: run.sh ABACO_GIT_DIR [pytest args]"
git_dir=$1; shift
ref=${V3KIT_REF:-prod-v3}
case_=${V3KIT_CASE:-snake}
git --git-dir "$git_dir" cat-file -e "$ref:tests/util.py" 2>/dev/null || die "$git_dir has no $ref:tests/util.py"
work=${V3KIT_WORK:-${TMPDIR:-/tmp}/abaco-v3-conformance}; mkdir -p "$work"
logs="$work/last-run"; rm -rf "$logs"; mkdir -p "$logs"
py=python3
(cd / && $py -c 'import abaco_emulator, tapipy, pytest, cloudpickle, parse, dateutil') 2>"$logs/imports.log" \
  || die "python3 lacks a module the run needs (see $logs/imports.log)"

# -- images: the v2 kit's (already built) + the two v3 stand-ins ---------------------------------
bash "$kit/images/build.sh" "$logs/images" || die "stand-in images could not be built"

# -- the suite, the server ------------------------------------------------------------------------
tmp=$(mktemp -d "$work/run.XXXXXX")
srv=""
cleanup() {
  trap - EXIT INT TERM HUP
  if [ -n "$srv" ] && kill -0 "$srv" 2>/dev/null; then
    kill -TERM "$srv" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$srv" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$srv" 2>/dev/null && { echo "server did not stop on SIGTERM; SIGKILL" >&2; kill -KILL "$srv" 2>/dev/null; }
    wait "$srv" 2>/dev/null
  fi
  if [ -n "$srv" ]; then
    left=$(docker ps -aq --filter "label=abaco-emulator.pid=$srv" 2>/dev/null)
    [ -n "$left" ] && { echo "removing containers the server left: $(echo $left)" >&2; docker rm -f $left >/dev/null 2>&1; }
  fi
  cp "$tmp/server.log" "$logs/server.log" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

git --git-dir "$git_dir" archive --prefix=tests/ "$ref:tests" | tar -x -C "$tmp" && [ -f "$tmp/tests/util.py" ] \
  || die "could not extract tests/ of $ref"
commit=$(git --git-dir "$git_dir" rev-parse --short "$ref^{commit}")

port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
# Roles: util.py grants abaco_admin to _abaco_testuser_admin and abaco_privileged to
# _abaco_testuser_privileged through the Security Kernel; the emulator takes roles from its
# configuration, so the same grants are given to serve here, and the kit's fake SK
# (shims/tapisservice) refuses any grant not in this list.
roles="_abaco_testuser_admin=abaco_admin;_abaco_testuser_privileged=abaco_privileged"
role_flags=(); IFS=';' read -ra _r <<<"$roles"; for r in "${_r[@]}"; do role_flags+=(--user-role "$r"); done
# shellcheck disable=SC2086
(cd "$tmp" && exec $py -m abaco_emulator serve --host 127.0.0.1 --port "$port" --runner docker \
   --db "$tmp/abaco.json" --v3-case "$case_" "${role_flags[@]}" --log-level INFO ${V3KIT_SERVE_ARGS:-}) \
   >"$tmp/server.log" 2>&1 &
srv=$!
ready=""
for _ in $(seq 1 150); do
  kill -0 "$srv" 2>/dev/null || break
  $py -c "import urllib.request as u; u.urlopen('$url/v3/actors', timeout=2)" 2>/dev/null && { ready=1; break; }
  $py -c "
import urllib.request as u, urllib.error as e, sys
try: u.urlopen('$url/v3/actors', timeout=2)
except e.HTTPError: sys.exit(0)
except Exception: sys.exit(1)" 2>/dev/null && { ready=1; break; }
  sleep 0.2
done
[ -n "$ready" ] || { tail -5 "$tmp/server.log" >&2; die "the server did not answer at $url"; }

# config.json, read by util.py from the working folder: the service client's base URL is the
# emulator's (nothing is sent there by the kit's plugin, but no stray request can leave loopback).
cat > "$tmp/config.json" <<JSON
{"primary_site_admin_tenant_base_url": "$url", "service_password": "v3kit-not-a-password",
 "rabbit_dash_host": "127.0.0.1", "admin_rabbitmq_user": "guest", "admin_rabbitmq_pass": "guest"}
JSON

target=tests
for a in "$@"; do case "$a" in tests/*|*::*|*.py) target="" ;; esac; done
echo "running TACC/abaco $ref ($commit) tests/ against $url/v3 (server pid $srv, case=$case_); several minutes ..."
# cwd = the folder holding tests/ and config.json, as /home/tapis in Abaco's test image.
# `tenant` stays unset as in Abaco's Makefile: the service client's tenant is then 'admin'
# and the test users' 'dev' (alternative_tenant_headers then names 'dev' too; see README).
tenant_env=(); [ -n "${V3KIT_TENANT:-}" ] && tenant_env=(tenant="$V3KIT_TENANT")
(cd "$tmp" && env -u tenant -u jwt -u sk_url -u service_password -u jwt_header -u token \
   "${tenant_env[@]}" PYTHONPATH="$kit/shims" V3KIT_USER_ROLES="$roles" base_url="$url/v3" case="$case_" \
   _called_from_within_test=True PYTHONDONTWRITEBYTECODE=1 COLUMNS=200 \
   timeout "${V3KIT_TIMEOUT:-2400}" $py -m pytest --rootdir="$tmp/tests" -p v3kit_pytest -p no:abaco_emulator \
   -p no:cacheprovider -rfE -v -o junit_family=xunit1 --junitxml="$logs/junit.xml" $target "$@") >"$logs/pytest.log" 2>&1
rc=$?
[ $rc = 124 ] && echo "the suite ran past V3KIT_TIMEOUT and was stopped"
$py "$kit/report.py" "$logs/junit.xml" "$logs/pytest.log"
exit $rc
