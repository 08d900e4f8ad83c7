#!/usr/bin/env bash
# Sets up .venv for the app (`make setup`): the pinned packages of requirements.txt and requirements-nodeps.txt,
# with the lightest torch build that runs here:
#   TORCH=cpu (default) PyTorch's own CPU wheels (~1 GB in all) when its index answers within seconds; else the
#                       package registry's wheels less triton, a compiler for NVIDIA GPUs that a CPU never loads
#                       (0.9 GB). The registry build's CUDA libraries stay: torch links them at import.
#   TORCH=cuda          the registry's wheels with everything they ask for (an NVIDIA GPU).
# Run from the repository root; prints which build it installed.
set -euo pipefail
PY="${PY:-python3.11}"
PIP=".venv/bin/pip"
torch_version=$(sed -n 's/^torch==//p' requirements.txt)
vision_version=$(sed -n 's/^torchvision==//p' requirements.txt)
numpy_pin=$(grep -E '^numpy==' requirements.txt)
cpu_index="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
# torch's own requirements less the CUDA ones: the CPU wheels go in without dependencies, so the registry
# wheel's CUDA requirements never reach the resolver
torch_needs=(filelock "typing-extensions>=4.10.0" sympy "networkx>=2.5.1" jinja2 "fsspec>=0.8.5")

test -x .venv/bin/python || "$PY" -m venv .venv
# basicsr's setup.py needs torch at build time: torch first, then basicsr built against it (--no-build-isolation)
# instead of pip fetching a second torch into a build environment; that needs setuptools and wheel here
$PIP install -q setuptools wheel

build="${TORCH:-cpu}"
case "$build" in
  cuda)
    $PIP install -q "torch==$torch_version" "torchvision==$vision_version" "$numpy_pin" ;;
  cpu)
    if $PIP install -q --no-deps --timeout 5 --retries 0 --index-url "$cpu_index" \
        "torch==$torch_version+cpu" "torchvision==$vision_version+cpu" 2>/dev/null; then
      build=cpu-index
      $PIP install -q "${torch_needs[@]}" "$numpy_pin"
    else
      echo "torch: $cpu_index did not answer; the registry's build instead, less triton" >&2
      build=registry-cpu
      $PIP install -q "torch==$torch_version" "torchvision==$vision_version" "$numpy_pin"
    fi ;;
  *)
    echo "TORCH=$build is not a build: TORCH=cpu (the default) or TORCH=cuda" >&2
    exit 2 ;;
esac
$PIP install -q --no-build-isolation -r requirements.txt
$PIP install -q --no-build-isolation --no-deps -r requirements-nodeps.txt
if [ "$build" = registry-cpu ]; then
  $PIP uninstall -q -y triton  # after the rest: resolving torch's requirements would bring it back
fi
# a CPU build must import and compute with no GPU library loaded
.venv/bin/python -c "import torch, torchvision; torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3))"
case "$build" in
  cuda) echo "torch $torch_version: the registry's CUDA build (TORCH=cuda)" ;;
  cpu-index) echo "torch $torch_version: PyTorch's CPU build, from $cpu_index" ;;
  registry-cpu) echo "torch $torch_version: the registry's build less triton (TORCH=cuda keeps it)" ;;
esac
