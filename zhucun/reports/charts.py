"""Charts of the county report as PNG bytes (matplotlib, Agg, no pyplot: no global figure
state, safe in a flow's worker threads).

Chinese labels need a CJK font: the first installed of `CJK_FONTS` is used (Debian's
`fonts-noto-cjk` gives Noto Sans CJK SC). Without one the chart still renders — the labels
show as boxes, and the warnings about missing glyphs are silenced — rather than failing
the whole report."""

from __future__ import annotations

import io
import warnings
from functools import lru_cache

from zhucun.reports.model import ChartSpec, CountyReport

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Noto Serif CJK SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
)
COLOURS = ("#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#d68910")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        # matplotlib's font cache is built once: a CJK font installed after it (fonts-noto-cjk
        # added to a machine that had drawn a chart before) is not in it until added here
        for path in font_manager.findSystemFonts():
            if any(word in path.lower() for word in ("cjk", "wqy", "sourcehan", "simhei")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in CJK_FONTS if name in installed), None)
    return found


def render_chart(spec: ChartSpec) -> bytes:
    """One chart as a PNG (about 700×300 px at 100 dpi: sharp enough on A4, small in HTML)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    rows = max(len(spec.labels), 1)
    bars = rows * len(spec.series)
    height = 3.0 if spec.kind != "hbar" else min(6.0, max(2.2, 0.9 + 0.2 * bars))
    with (
        rc_context({"font.family": family, "axes.unicode_minus": False}),
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", message=r".*[Gg]lyph.*missing.*")
        fig = Figure(figsize=(7.0, height), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        _draw(ax, spec)
        ax.set_title(spec.title, fontsize=12)
        ax.spines[["top", "right"]].set_visible(False)
        if len(spec.series) > 1:
            ax.legend(fontsize=9, frameon=False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def _draw(ax, spec: ChartSpec) -> None:  # noqa: ANN001 - matplotlib Axes
    n = len(spec.series)
    positions = list(range(len(spec.labels)))
    width = 0.8 / max(n, 1)
    for i, (label, values) in enumerate(spec.series.items()):
        colour = COLOURS[i % len(COLOURS)]
        if spec.kind == "line":
            ax.plot(positions, values, marker="o", label=label, color=colour)
            continue
        offset = [p - 0.4 + width * (i + 0.5) for p in positions]
        if spec.kind == "hbar":
            bars = ax.barh(offset, values, height=width, label=label, color=colour)
        else:
            bars = ax.bar(offset, values, width=width, label=label, color=colour)
        ax.bar_label(bars, fmt="{:,.0f}" if spec.ylabel != "万元" else "{:,.1f}", fontsize=8)
    if spec.kind == "hbar":
        ax.set_yticks(positions, spec.labels, fontsize=9)
        ax.invert_yaxis()
        ax.set_xlabel(spec.ylabel, fontsize=9)
    else:
        ax.set_xticks(positions, spec.labels, fontsize=9)
        ax.set_ylabel(spec.ylabel, fontsize=9, rotation=0, labelpad=12)
        if len(spec.labels) > 6:
            ax.tick_params(axis="x", labelrotation=30)
    ax.margins(x=0.05 if spec.kind == "line" else 0.02)


def report_charts(report: CountyReport) -> dict[str, bytes]:
    """Every chart of the report, by key."""
    return {key: render_chart(spec) for key, spec in report.charts.items()}
