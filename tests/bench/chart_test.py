#!/usr/bin/env python3
"""tests/bench/chart.py on a committed results file: a valid SVG with one group per test of the
file and, in each, the four series (direct, nginx, haproxy, wsgate) at their medians.

    tests/bench/chart_test.py   (ctest: bench_chart)
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "2026-11-21-2core-final2.jsonl")
SVG = "{http://www.w3.org/2000/svg}"
TESTS = ["echo64", "echo64k", "handshake", "flood", "idle", "wss64", "wsshs", "wssres", "wssidle"]
CONFIGS = ["direct", "nginx", "haproxy", "wsgate"]


def chart(results):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "chart.svg")
        run = subprocess.run([sys.executable, os.path.join(HERE, "chart.py"), results, out],
                             capture_output=True, text=True, timeout=60, check=False)
        if run.returncode != 0:
            raise AssertionError(f"chart.py exited {run.returncode}: {run.stderr}")
        return ET.parse(out).getroot()


class ChartTest(unittest.TestCase):
    def test_one_group_per_test_with_four_series(self):
        root = chart(RESULTS)
        self.assertEqual(root.tag, f"{SVG}svg")
        groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "test"]
        self.assertEqual([g.get("data-test") for g in groups], TESTS)
        for group in groups:
            series = [g for g in group.iter(f"{SVG}g") if g.get("class") == "series"]
            self.assertEqual([s.get("data-config") for s in series], CONFIGS, group.get("data-test"))
            for s in series:
                bars = s.findall(f"{SVG}rect")
                na = [t for t in s.findall(f"{SVG}text") if t.get("class") == "na"]
                # direct has nothing to measure for the idle and wss tests: "n/a", not a bar.
                expect_bar = s.get("data-config") != "direct" or group.get("data-test") in (
                    "echo64", "echo64k", "handshake", "flood")
                self.assertEqual((len(bars), len(na)), (1, 0) if expect_bar else (0, 1),
                                 f'{group.get("data-test")}/{s.get("data-config")}')

    def test_bars_are_the_medians(self):
        values = {}
        with open(RESULTS, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                label = record.get("label", "").split("/")
                if len(label) == 3 and label[1] == "echo64" and "msgs_per_s" in record:
                    values.setdefault(label[0], []).append(record["msgs_per_s"])
        root = chart(RESULTS)
        group = next(g for g in root.iter(f"{SVG}g") if g.get("data-test") == "echo64")
        for s in (g for g in group.iter(f"{SVG}g") if g.get("class") == "series"):
            bar = s.find(f"{SVG}rect")
            self.assertEqual(float(bar.get("data-value")),
                             statistics.median(values[s.get("data-config")]))

    def test_only_the_tests_in_the_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            subset = os.path.join(tmp, "subset.jsonl")
            with open(RESULTS, encoding="utf-8") as f, open(subset, "w", encoding="utf-8") as out:
                for line in f:
                    if '"run":"wsgate-bench"' in line or "/handshake/" in line:
                        out.write(line)
            root = chart(subset)
        groups = [g.get("data-test") for g in root.iter(f"{SVG}g") if g.get("class") == "test"]
        self.assertEqual(groups, ["handshake"])


if __name__ == "__main__":
    unittest.main()
