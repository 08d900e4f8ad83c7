"""The charts the pages draw: built in core/quality/charts.py, so the printed handout uses the same specs."""
from core.quality.charts import FONT, metric_dots, spectrum_chart, sweep_chart, tradeoff_scatter

__all__ = ["FONT", "metric_dots", "spectrum_chart", "sweep_chart", "tradeoff_scatter"]
