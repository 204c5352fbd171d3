#!/usr/bin/env python3
"""The chart of a benchmark run: wsgate against nginx, HAProxy and direct, one panel per test.

    tests/bench/chart.py RESULTS.jsonl OUT.svg

Reads the JSON lines tests/bench/run.sh writes (a header line, then one line per measurement,
labelled CONFIG/TEST/REPETITION) and writes one self-contained SVG: for each test in the file,
a group (<g class="test" data-test="TEST">) with one bar per configuration (<g class="series"
data-config="direct|nginx|haproxy|wsgate|wsgate_uring">, those the file has) at the median of its repetitions, a whisker from
the smallest to the largest, and the median written above it. A configuration a test does not
run (direct has no proxy to measure for the idle and wss tests) gets "n/a" instead of a bar.
Each panel has its own scale and says whether higher or lower is better. Standard library only.
"""

import json
import statistics
import sys
from xml.sax.saxutils import escape

# (test, the metric shown, its title, True when higher is better), in run.sh's order.
TESTS = [
    ("echo64", "msgs_per_s", "64 B echo, 100 conns: messages/s", True),
    ("echo64c1k", "msgs_per_s", "64 B echo, 1,000 conns: messages/s", True),
    ("echo64c4k", "msgs_per_s", "64 B echo, 4,000 conns: messages/s", True),
    ("echo64k", "mb_per_s", "64 KiB echo, 10 conns: MB/s", True),
    ("handshake", "upgrades_per_s", "upgrades/s, 20 conns", True),
    ("flood", "mb_per_s", "flood backend to client: MB/s", True),
    ("idle", "rss_per_conn_kib", "idle RSS per connection: KiB", False),
    ("echo64kz", "mb_per_s", "64 KiB deflated echo, 10 conns: MB/s", True),
    ("idlez", "rss_per_conn_kib", "idle RSS, deflate + takeover: KiB", False),
    ("idlezn", "rss_per_conn_kib", "idle RSS, deflate, no takeover: KiB", False),
    ("wss64", "msgs_per_s", "wss 64 B echo, 100 conns: messages/s", True),
    ("wsshs", "upgrades_per_s", "wss full handshakes/s, 20 conns", True),
    ("wssres", "upgrades_per_s", "wss resumed handshakes/s, 20 conns", True),
    ("wssidle", "rss_per_conn_kib", "wss idle RSS per connection: KiB", False),
]
# Every configuration a chart may show; a chart shows those its results file has.
ALL_SERIES = [("direct", "#8c8c8c"), ("nginx", "#2e8b57"), ("haproxy", "#1f6fb5"),
              ("wsgate", "#d2553a"), ("wsgate_uring", "#8e44ad")]
SERIES = ALL_SERIES
COLUMNS = 3
PANEL_W, PANEL_H = 330, 230
PLOT_TOP, PLOT_BOTTOM, PLOT_LEFT = 54, 40, 16
HEADER_H = 70


def read_results(path):
    """Returns (header dict, {(config, test): [values]})."""
    header = {}
    values = {}
    metric_of = {t[0]: t[1] for t in TESTS}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            record = json.loads(line)
            if record.get("run") == "wsgate-bench":
                header = record
                continue
            parts = record.get("label", "").split("/")
            if len(parts) < 2 or parts[1] not in metric_of:
                continue
            value = record.get(metric_of[parts[1]])
            if isinstance(value, (int, float)):
                values.setdefault((parts[0], parts[1]), []).append(float(value))
    return header, values


def fmt(value):
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def panel(test, title, higher_better, values, x, y):
    out = [f'<g class="test" data-test="{test}" transform="translate({x},{y})">',
           f'<rect class="frame" width="{PANEL_W - 10}" height="{PANEL_H - 10}" rx="4"/>',
           f'<text class="title" x="{PLOT_LEFT - 6}" y="18">{escape(title)}</text>',
           f'<text class="note" x="{PLOT_LEFT - 6}" y="32">'
           f'{"higher" if higher_better else "lower"} is better; median, whisker min-max</text>']
    stats = {}
    for config, _ in SERIES:
        v = values.get((config, test))
        if v:
            stats[config] = (statistics.median(v), min(v), max(v))
    top = max((s[2] for s in stats.values()), default=1.0) or 1.0
    plot_h = PANEL_H - 10 - PLOT_TOP - PLOT_BOTTOM
    base_y = PLOT_TOP + plot_h
    slot = (PANEL_W - 10 - 2 * PLOT_LEFT) / len(SERIES)
    bar_w = slot * 0.6
    out.append(f'<line class="axis" x1="{PLOT_LEFT}" y1="{base_y}" '
               f'x2="{PANEL_W - 10 - PLOT_LEFT}" y2="{base_y}"/>')
    for i, (config, color) in enumerate(SERIES):
        cx = PLOT_LEFT + slot * (i + 0.5)
        out.append(f'<g class="series" data-config="{config}">')
        if config in stats:
            median, low, high = stats[config]
            h = plot_h * median / top
            out.append(f'<rect class="bar" x="{cx - bar_w / 2:.1f}" y="{base_y - h:.1f}" '
                       f'width="{bar_w:.1f}" height="{h:.1f}" fill="{color}" '
                       f'data-value="{median:g}"><title>{config}: {fmt(median)} '
                       f'(min {fmt(low)}, max {fmt(high)}, {len(values[(config, test)])} '
                       f'runs)</title></rect>')
            if high > low:
                y_low = base_y - plot_h * low / top
                y_high = base_y - plot_h * high / top
                out.append(f'<line class="whisker" x1="{cx:.1f}" y1="{y_low:.1f}" '
                           f'x2="{cx:.1f}" y2="{y_high:.1f}"/>')
            label_y = base_y - plot_h * max(median, high) / top - 5
            out.append(f'<text class="value" x="{cx:.1f}" y="{label_y:.1f}">{fmt(median)}</text>')
        else:
            out.append(f'<text class="na" x="{cx:.1f}" y="{base_y - 6}">n/a</text>')
        out.append(f'<text class="config" x="{cx:.1f}" y="{base_y + 16}">{config}</text>')
        out.append('</g>')
    out.append('</g>')
    return out


def chart(header, values):
    global SERIES
    SERIES = [s for s in ALL_SERIES if any(c == s[0] for c, _ in values)]
    tests = [t for t in TESTS if any((c, t[0]) in values for c, _ in SERIES)]
    rows = max(1, (len(tests) + COLUMNS - 1) // COLUMNS)
    width = COLUMNS * PANEL_W + 10
    height = HEADER_H + rows * PANEL_H
    subtitle = (f'{header.get("date", "?")}, {header.get("cores", "?")} cores '
                f'({header.get("cpu", "?")}), {header.get("reps", "?")} repetition(s) of '
                f'{header.get("duration_s", "?")} s; nginx {header.get("nginx", "?")}, '
                f'HAProxy {header.get("haproxy", "?")}, wsgate {header.get("wsgate", "?")} '
                f'(1 worker)')
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           '<style>.frame{fill:#fff;stroke:#d0d4da}.title{font-weight:bold;font-size:12px}'
           '.note,.na{fill:#667}.axis{stroke:#445}.whisker{stroke:#222;stroke-width:1.5}'
           '.value,.config,.na{text-anchor:middle}.value{font-size:10px}</style>',
           f'<rect width="{width}" height="{height}" fill="#fafafa"/>',
           '<text x="10" y="22" font-size="15" font-weight="bold">wsgate benchmark: wsgate '
           'against nginx, HAProxy and direct</text>',
           f'<text x="10" y="40">{escape(subtitle)}</text>']
    legend_x = 10
    out.append('<g class="legend">')
    for config, color in SERIES:
        out.append(f'<rect x="{legend_x}" y="50" width="10" height="10" fill="{color}"/>'
                   f'<text x="{legend_x + 14}" y="59">{config}</text>')
        legend_x += 100
    out.append('</g>')
    for i, (test, _, title, higher) in enumerate(tests):
        x = 5 + (i % COLUMNS) * PANEL_W
        y = HEADER_H + (i // COLUMNS) * PANEL_H
        out.extend(panel(test, title, higher, values, x, y))
    out.append('</svg>')
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3:
        print("usage: chart.py RESULTS.jsonl OUT.svg", file=sys.stderr)
        return 2
    header, values = read_results(argv[1])
    if not values:
        print(f"chart.py: no measurements in {argv[1]}", file=sys.stderr)
        return 1
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(chart(header, values))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
