"""Charts drawn on the server as SVG: no chart library, no script, nothing from another
site, so the admin's Content-Security-Policy stays as strict as the readers'."""

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 720, 200
TOP, BOTTOM, LEFT = 12, 24, 40


def _tick(value):
    """A round step (1, 2 or 5 times a power of ten) for four steps to reach `value`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor * 4 >= value:
                return step * factor
        step *= 10


def stacked_bars(days, per_day, series):
    """One bar per day of `days`, each stacked from `series` ([(key, label)]) with the
    values of `per_day` ({day: {key: value}}), as accessible SVG (a title and a text
    alternative per bar; CSS gives each series its colour by class)."""
    totals = [sum(per_day.get(day, {}).values()) for day in days]
    tick = _tick(max(totals, default=0))
    top = tick * 4
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(days), 1)
    bar = max(slot * 0.7, 1)
    rects, labels = [], []
    for index, day in enumerate(days):
        x = LEFT + index * slot + (slot - bar) / 2
        y = TOP + plot_height
        values = per_day.get(day, {})
        for key, label in series:
            value = values.get(key, 0)
            if not value:
                continue
            height = plot_height * value / top
            y -= height
            title = f"{date_format(day, 'SHORT_DATE_FORMAT')} {label}: {value}"
            rects.append((key, f"{x:.1f}", f"{y:.1f}", f"{bar:.1f}", f"{height:.1f}", title))
        # A date under the first bar and about every seventh after it.
        if index % max(len(days) // 6, 1) == 0:
            labels.append((f"{x + bar / 2:.1f}", HEIGHT - 6, date_format(day, "n/j")))
    grid = [(TOP + plot_height * step / 4, tick * (4 - step)) for step in range(5)]
    legend = format_html_join(
        "",
        '<li><span class="kiji-chart__swatch kiji-chart__bar--{}"></span>{}</li>',
        ((key, label) for key, label in series),
    )
    svg = format_html(
        '<svg class="kiji-chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="kiji-chart-title">'
        '<title id="kiji-chart-title">{title}</title>{grid}{bars}{labels}</svg>',
        w=WIDTH,
        h=HEIGHT,
        title=_("Clicks per day, by store: %(total)s in all") % {"total": sum(totals)},
        grid=format_html_join(
            "",
            '<line class="kiji-chart__grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
            '<text class="kiji-chart__axis" x="{}" y="{}" text-anchor="end">{}</text>',
            ((LEFT, WIDTH, f"{y:.1f}", f"{y:.1f}", LEFT - 6, f"{y + 4:.1f}", value) for y, value in grid),
        ),
        bars=format_html_join(
            "",
            '<rect class="kiji-chart__bar kiji-chart__bar--{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
            rects,
        ),
        labels=format_html_join(
            "", '<text class="kiji-chart__axis" x="{}" y="{}" text-anchor="middle">{}</text>', labels
        ),
    )
    return {"svg": svg, "legend": legend, "empty": not any(totals)}
