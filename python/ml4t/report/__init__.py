"""``ml4t.report``: interactive plots (plotly) and one-file offline HTML reports of runs, sweeps and
comparisons, and saving results to disk.

Users mostly call the methods: ``result.plot()``, ``result.report("run.html")``, ``result.save(path)`` /
``Result.load(path)``, ``sweep.heatmap("fast", "slow")``, ``sweep.report(...)``, ``ml4t.compare(a, b).plot()``
and ``.report(...)``. plotly is imported on first use, never when ``ml4t`` is imported.
"""

from ml4t.report._compare import plot_comparison, report_comparison
from ml4t.report._downsample import DEFAULT_MAX_POINTS, minmax_indices
from ml4t.report._page import Html, Page
from ml4t.report._result import plot_result, report_result, result_page
from ml4t.report._store import is_result_folder, load_result, save_result
from ml4t.report._sweep import heatmap_data, plot_heatmap, report_sweep

__all__ = [
    "DEFAULT_MAX_POINTS",
    "Html",
    "Page",
    "heatmap_data",
    "is_result_folder",
    "load_result",
    "minmax_indices",
    "plot_comparison",
    "plot_heatmap",
    "plot_result",
    "report_comparison",
    "report_result",
    "report_sweep",
    "result_page",
    "save_result",
]
