#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a Prometheus text exposition (format 0.0.4) and compares two scrapes.

Usage: metrics-check.py FIRST [SECOND]
Every line must be a '# HELP name text', a '# TYPE name type' or a sample
'name{label="value",...} number'; names match [a-zA-Z_:][a-zA-Z0-9_:]*, label
names [a-zA-Z_][a-zA-Z0-9_]*; a family's TYPE comes before its samples and at
most once; histogram buckets are cumulative and end with le="+Inf", which
equals _count. With SECOND, no counter (nor histogram count) goes down, and
the counters named in MUST_GROW do go up. Exits 1 with the reasons.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)(?: (-?\d+))?$")
MUST_GROW = ["clover_fires_total", 'clover_http_requests_total{code="200"}']
MUST_HAVE = ["clover_fires_total", "clover_runs_total", "clover_run_lateness_seconds",
             "clover_dispatch_latency_seconds", "clover_running_shards", "clover_executors",
             "clover_leader", "clover_partitions_owned", "clover_store_commit_seconds",
             "clover_store_queue_depth", "clover_alert_deliveries_total",
             "clover_http_requests_total"]


def parse(path, errors):
    types, samples = {}, {}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        errors.append(f"{path}: does not end with a newline")
    for n, line in enumerate(text.splitlines(), 1):
        where = f"{path}:{n}"
        if line.startswith("# HELP "):
            if not re.match(rf"^# HELP {NAME} \S", line):
                errors.append(f"{where}: bad HELP: {line}")
            continue
        if line.startswith("# TYPE "):
            m = re.match(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$", line)
            if not m:
                errors.append(f"{where}: bad TYPE: {line}")
            elif m.group(1) in types:
                errors.append(f"{where}: second TYPE for {m.group(1)}")
            else:
                types[m.group(1)] = m.group(2)
            continue
        m = SAMPLE.match(line)
        if not m:
            errors.append(f"{where}: not a sample: {line!r}")
            continue
        name, value = m.group(1), m.group(3)
        try:
            v = float(value)
        except ValueError:
            errors.append(f"{where}: bad value {value!r}")
            continue
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in types and family not in types:
            errors.append(f"{where}: sample {name} before its TYPE")
        key = name + ("{" + m.group(2) + "}" if m.group(2) else "")
        if key in samples:
            errors.append(f"{where}: duplicate sample {key}")
        samples[key] = v
    for fam, t in types.items():
        if t != "histogram":
            continue
        buckets = [(k, v) for k, v in samples.items() if k.startswith(fam + "_bucket{")]
        vals = [v for _, v in buckets]
        if not buckets or 'le="+Inf"' not in buckets[-1][0]:
            errors.append(f"{path}: histogram {fam} lacks its +Inf bucket")
        elif vals != sorted(vals):
            errors.append(f"{path}: histogram {fam} buckets are not cumulative")
        elif samples.get(fam + "_count") != vals[-1]:
            errors.append(f"{path}: histogram {fam}: _count differs from the +Inf bucket")
    for fam in MUST_HAVE:
        if fam not in types:
            errors.append(f"{path}: family {fam} is missing")
    return types, samples


def main():
    errors = []
    types, first = parse(sys.argv[1], errors)
    if len(sys.argv) > 2:
        _, second = parse(sys.argv[2], errors)
        for key, v in first.items():
            fam = re.sub(r"\{.*$", "", key)
            base = re.sub(r"_(bucket|sum|count)$", "", fam)
            counter = types.get(fam) == "counter" or types.get(base) == "histogram"
            if counter and second.get(key, v) < v:
                errors.append(f"counter {key} went down: {v} -> {second.get(key)}")
        for key in MUST_GROW:
            if not second.get(key, 0) > first.get(key, 0):
                errors.append(f"{key} did not grow: {first.get(key)} -> {second.get(key)}")
    for e in errors:
        print(e)
    print(f"{len(first)} samples in {len(types)} families; {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
