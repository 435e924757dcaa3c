#!/usr/bin/env bash
# Builds the two images the prod-v3 suite registers beyond the v2 kit's ones, as local stand-ins:
#   abacosamples/py3_func_v3  abaco-conformance/python:1 + tapipy 25.4.0 (and its dependencies at the
#                             host's versions, cloudpickle = the host's) + call_f.py
#   nshresth/abacotest:1.0    abaco-conformance/busybox:1 + abacotest.sh
# Needs the v2 kit's bases (abaco-conformance/python:1, abaco-conformance/busybox:1) built already.
# Rebuilds an image only when its inputs change (label v3kit.inputs). No registry is contacted:
# the builds are COPY-only (pip runs on the host, into a folder, with the configured index).
# usage: build.sh LOG_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
logs=${1:?usage: build.sh LOG_DIR}; mkdir -p "$logs"
export DOCKER_BUILDKIT=0
LABEL=v3kit.inputs
for base in abaco-conformance/python:1 abaco-conformance/busybox:1 jstubbs/abaco_test abacosamples/test \
            abacosamples/py3_func abacosamples/sleep_loop abacosamples/wc; do
  docker image inspect "$base" >/dev/null 2>&1 || { echo "missing image $base: build the v2 kit's images first" \
    "(run the v2 kit once: ../shared/conformance/abaco-v2/run.sh)"; exit 1; }
done
label_of() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT

# -- abacosamples/py3_func_v3 ------------------------------------------------------------------
cp_version=$(python3 -c 'import importlib.metadata as m; print(m.version("cloudpickle"))')
base_id=$(docker image inspect -f '{{.Id}}' abaco-conformance/python:1)
want=$( { echo "py3_func_v3 1 tapipy==25.4.0 cloudpickle==$cp_version $base_id"; cat "$here/call_f.py"; } | sha256sum | cut -c1-16)
if [ "$(label_of abacosamples/py3_func_v3)" != "$want" ]; then
  echo "building abacosamples/py3_func_v3 ..."
  ctx="$scratch/py3_func_v3"; mkdir -p "$ctx/site"
  # the host's versions of tapipy's dependencies (the host runs tapipy 25.4.0 fine)
  python3 -m pip freeze 2>/dev/null | grep -v -e '^-e' -e ' @ ' -e '^#' > "$scratch/host-constraints.txt"
  python3 -m pip install -q --target "$ctx/site" -c "$scratch/host-constraints.txt" \
      "tapipy==25.4.0" "cloudpickle==$cp_version" >"$logs/pip-py3_func_v3.log" 2>&1 \
    || { echo "pip --target failed (see $logs/pip-py3_func_v3.log)"; exit 1; }
  rm -rf "$ctx/site/bin"
  cp "$here/call_f.py" "$ctx/call_f.py"
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM abaco-conformance/python:1
COPY site/ /usr/local/lib/python3.11/dist-packages/
COPY call_f.py /call_f.py
LABEL $LABEL=$want
CMD ["python3", "/call_f.py"]
DOCKERFILE
  docker build -q -t abacosamples/py3_func_v3 "$ctx" >"$logs/build-py3_func_v3.log" 2>&1 \
    || { echo "docker build failed (see $logs/build-py3_func_v3.log)"; exit 1; }
  docker run --rm --network none abacosamples/py3_func_v3 python3 -c \
    'import tapipy, tapipy.actors, cloudpickle; print("tapipy", tapipy.__version__, "cloudpickle", cloudpickle.__version__)' \
    || { echo "abacosamples/py3_func_v3 cannot import tapipy.actors"; exit 1; }
fi

# -- nshresth/abacotest:1.0 ----------------------------------------------------------------------
bb_id=$(docker image inspect -f '{{.Id}}' abaco-conformance/busybox:1)
want=$( { echo "abacotest 1 $bb_id"; cat "$here/abacotest.sh"; } | sha256sum | cut -c1-16)
if [ "$(label_of nshresth/abacotest:1.0)" != "$want" ]; then
  echo "building nshresth/abacotest:1.0 ..."
  ctx="$scratch/abacotest"; mkdir -p "$ctx"
  cp "$here/abacotest.sh" "$ctx/abacotest.sh"; chmod 755 "$ctx/abacotest.sh"
  printf 'FROM abaco-conformance/busybox:1\nCOPY abacotest.sh /abacotest.sh\nLABEL %s=%s\nCMD ["/bin/sh", "/abacotest.sh"]\n' \
    "$LABEL" "$want" > "$ctx/Dockerfile"
  docker build -q -t nshresth/abacotest:1.0 "$ctx" >"$logs/build-abacotest.log" 2>&1 \
    || { echo "docker build failed (see $logs/build-abacotest.log)"; exit 1; }
fi
