"""SR Lab core: decode → method → tiles → metrics. No Streamlit here; also the CLI (`python -m core`)."""
from core import compat as _compat

_compat.install()
