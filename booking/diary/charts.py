"""Bar charts drawn on the server as SVG: no JavaScript, readable when printed.

Each chart is a picture for those who can see it; the page gives every chart a sentence
saying what it shows and the table of its figures, so the SVG itself is marked as an
image with a short name and nothing inside it is read out twice.
"""

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR_COLOUR = "#2f6f5e"
SECOND_COLOUR = "#c2703d"
TEXT_COLOUR = "#1f2933"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    second: float = 0.0  # stacked on top (cancelled appointments, say)


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def column_chart(title: str, bars: list[Bar], *, label_every: int = 1) -> Markup:
    """Vertical bars, one per label, left to right (weeks). `second` is stacked above."""
    width, height, left, bottom, top = 720, 260, 40, 40, 16
    plot_height = height - bottom - top
    largest = max([bar.value + bar.second for bar in bars] + [1])
    step = (width - left - 8) / max(len(bars), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" '
        f'stroke="{TEXT_COLOUR}"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11" '
        f'fill="{TEXT_COLOUR}">{_number(largest)}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end" font-size="11" '
        f'fill="{TEXT_COLOUR}">0</text>',
    ]
    for index, bar in enumerate(bars):
        x = left + index * step + step * 0.15
        bar_width = max(step * 0.7, 1)
        first = plot_height * bar.value / largest
        second = plot_height * bar.second / largest
        base = height - bottom
        parts.append(
            f'<rect x="{x:.1f}" y="{base - first:.1f}" width="{bar_width:.1f}" '
            f'height="{first:.1f}" fill="{BAR_COLOUR}"/>'
        )
        if bar.second:
            parts.append(
                f'<rect x="{x:.1f}" y="{base - first - second:.1f}" width="{bar_width:.1f}" '
                f'height="{second:.1f}" fill="{SECOND_COLOUR}"/>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{base + 16}" text-anchor="middle" '
                f'font-size="11" fill="{TEXT_COLOUR}">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def row_chart(
    title: str,
    bars: list[Bar],
    *,
    maximum: float | None = None,
    unit: str = "",
    show: Callable[[float], str] | None = None,
) -> Markup:
    """Horizontal bars, one per label, top to bottom (practitioners, sources)."""
    row_height, label_width, width = 28, 220, 720
    height = row_height * max(len(bars), 1) + 8
    largest = maximum or max([bar.value for bar in bars] + [1])
    room = width - label_width - 90

    def shown(value: float) -> str:
        return show(value) if show else f"{_number(round(value, 1))}{unit}"

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, bar in enumerate(bars):
        y = 4 + index * row_height
        length = room * max(0.0, min(bar.value, largest)) / largest if largest > 0 else 0.0
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" font-size="13" '
            f'fill="{TEXT_COLOUR}">{escape(bar.label[:32])}</text>'
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row_height - 10}" '
            f'fill="{BAR_COLOUR}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 17}" font-size="13" '
            f'fill="{TEXT_COLOUR}">{escape(shown(bar.value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()
