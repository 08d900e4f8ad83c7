"""SR Lab core: decode → method → tiles → metrics. No Streamlit here; also the CLI (`python -m core`)."""
import os as _os

from core import compat as _compat

_compat.install()
# On Apple's GPU an op that Metal lacks runs on the CPU instead of failing the job (read when torch loads; the mps
# backend names those ops, core/runtime/backends.py)
_os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
