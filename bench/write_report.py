#!/usr/bin/env python3
"""Writes docs/benchmarks.md from the raw results of one bench/run.sh run.

The run directory holds fjord-load's JSON reports (load-<label>.json), the
broker's CPU time per run (broker-cpu-<label>.json), iperf3 -J output
(iperf3.json) and fio JSON output (fio-<bs>.json). Standard library only.

--parts names what the run measured (core, groups, txn, raft). Without core only the
"Consumer groups", "Transactions" and/or "Raft" sections of --out are replaced (or
added) and the rest of the file is kept; with core the file is rewritten, and a
section whose part did not run is carried over from the old file.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess

from cluster_report import CLUSTER_HEADING, cluster_section
from metadata_report import METADATA_HEADING, metadata_section
from raft_report import RAFT_HEADING, raft_section

# The targets, as ratios measured in the same run (docs: machine-limits.md).
PRODUCE_VS_FIO_MIN = 0.60
CONSUME_VS_IPERF_MIN = 0.50
LATENCY_P99_MAX_MS = 5.0


def load_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def block_bytes(text):
    match = re.fullmatch(r"(\d+)([kKmM]?)", text)
    if not match:
        return 0
    scale = {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2).lower()]
    return int(match.group(1)) * scale


def read_fio_file(path):
    """{"mb_s", "iops", "fsync_p50_us", "fsync_p99_us", "bytes"} of one fio JSON, or None."""
    data = load_json(path)
    if not data or not data.get("jobs"):
        return None
    job = data["jobs"][0]
    percentiles = job.get("sync", {}).get("lat_ns", {}).get("percentile", {})
    return {
        "mb_s": job["write"]["bw_bytes"] / 1e6,
        "iops": job["write"].get("iops", 0),
        "bytes": job["write"]["io_bytes"],
        "fsync_p50_us": percentiles.get("50.000000", 0) / 1e3,
        "fsync_p99_us": percentiles.get("99.000000", 0) / 1e3,
    }


FIO_FILE = re.compile(r"fio-(\d+[kKmM]?)\.json")


def read_fio(run_dir):
    """{block size text: read_fio_file()} of fio-<bs>.json (not the extra runs
    with a suffix, such as fio-4k-before-txn.json)."""
    results = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "fio-*.json"))):
        match = FIO_FILE.fullmatch(os.path.basename(path))
        result = read_fio_file(path) if match else None
        if result:
            results[match.group(1)] = result
    return results


def read_iperf(run_dir):
    data = load_json(os.path.join(run_dir, "iperf3.json"))
    if not data or "end" not in data:
        return None
    return data["end"]["sum_received"]["bits_per_second"] / 8 / 1e6  # MB/s


def fmt(value, digits=1):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def verdict(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**missed**"


def server_cpu_us_per_msg(run_dir, mode, messages):
    cpu = load_json(os.path.join(run_dir, f"broker-cpu-{mode}.json"))
    if not cpu or not messages:
        return None
    return cpu["broker_cpu_s"] * 1e6 / messages


def results_table(run_dir, loads):
    rows = ["| run | MB/s | msgs/s | messages | server CPU-µs/msg | client CPU-µs/msg |",
            "| --- | --- | --- | --- | --- | --- |"]
    for mode in ("produce", "consume"):
        report = loads.get(mode)
        if not report:
            rows.append(f"| {mode} | failed | | | | |")
            continue
        m = report["metrics"]
        rows.append(
            f"| {mode} | {fmt(m['mb_per_s'])} | {fmt(m['msgs_per_s'], 0)} | "
            f"{fmt(m['messages'], 0)} | "
            f"{fmt(server_cpu_us_per_msg(run_dir, mode, m['messages']), 2)} | "
            f"{fmt(m.get('client_cpu_us_per_msg'), 2)} |")
    lines = rows + [""]
    latency = loads.get("latency")
    if latency:
        m = latency["metrics"]
        lines += [
            "| latency run | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | measured msgs |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for prefix, label in (("e2e", "from send"),
                              ("e2e_from_schedule", "from planned send time")):
            cells = [fmt(m[f"{prefix}_{q}_us"] / 1e3, 2)
                     for q in ("p50", "p90", "p99", "p99_9", "max")]
            lines.append(f"| {label} at {fmt(m['achieved_mb_per_s'])} MB/s | "
                         + " | ".join(cells) + f" | {fmt(m['measured'], 0)} |")
        lines.append("")
    return lines


def limits_table(iperf_mb_s, fio):
    lines = ["| limit | figure | notes |", "| --- | --- | --- |"]
    if iperf_mb_s is not None:
        lines.append(f"| loopback TCP, 1 stream (iperf3) | {fmt(iperf_mb_s, 0)} MB/s "
                     f"({fmt(iperf_mb_s * 8 / 1e3, 1)} Gbit/s) | |")
    for block_size, result in sorted(fio.items(), key=lambda item: block_bytes(item[0])):
        lines.append(f"| sequential write + fsync each, bs={block_size} (fio) | "
                     f"{fmt(result['mb_s'])} MB/s | fsync p50 {fmt(result['fsync_p50_us'], 0)} µs, "
                     f"p99 {fmt(result['fsync_p99_us'], 0)} µs; "
                     f"{fmt(result['bytes'] / 2**20, 0)} MiB written |")
    if iperf_mb_s is None and not fio:
        lines.append("| (not measured: SKIP_LIMITS=1) | | |")
    return lines + [""]


def fio_for_batch(fio, batch_bytes):
    """The fio result whose block size is closest to the produce batch."""
    if not fio or not batch_bytes:
        return None, None
    block_size = min(fio, key=lambda size: abs(block_bytes(size) - batch_bytes))
    return block_size, fio[block_size]


def targets_table(loads, iperf_mb_s, fio):
    lines = ["| target | measured | ratio | goal | verdict |", "| --- | --- | --- | --- | --- |"]
    produce = loads.get("produce")
    if produce:
        m = produce["metrics"]
        block_size, match = fio_for_batch(fio, m.get("batch_bytes_mean"))
        for size, result, label in ((block_size, match, "same write size as a produce batch"),
                                    ("1M", fio.get("1M"), "1 MiB writes")):
            if result is None:
                lines.append(f"| produce acks=all vs fio fsync'd write ({label}) | "
                             f"{fmt(m['mb_per_s'])} MB/s | n/a | ≥ {PRODUCE_VS_FIO_MIN:.0%} | "
                             f"{verdict(None)} |")
                continue
            ratio = m["mb_per_s"] / result["mb_s"]
            lines.append(f"| produce acks=all vs fio bs={size} ({label}) | "
                         f"{fmt(m['mb_per_s'])} / {fmt(result['mb_s'])} MB/s | {ratio:.0%} | "
                         f"≥ {PRODUCE_VS_FIO_MIN:.0%} | {verdict(ratio >= PRODUCE_VS_FIO_MIN)} |")
    consume = loads.get("consume")
    if consume:
        mb_s = consume["metrics"]["mb_per_s"]
        ratio = mb_s / iperf_mb_s if iperf_mb_s else None
        lines.append(f"| consume vs iperf3 loopback, 1 stream | {fmt(mb_s)} / {fmt(iperf_mb_s, 0)} "
                     f"MB/s | {'n/a' if ratio is None else f'{ratio:.0%}'} | "
                     f"≥ {CONSUME_VS_IPERF_MIN:.0%} | "
                     f"{verdict(None if ratio is None else ratio >= CONSUME_VS_IPERF_MIN)} |")
    latency = loads.get("latency")
    if latency:
        p99_ms = latency["metrics"]["e2e_p99_us"] / 1e3
        lines.append(f"| p99 end-to-end latency at {latency['parameters']['rate_mb_s']} MB/s | "
                     f"{fmt(p99_ms, 2)} ms | | ≤ {LATENCY_P99_MAX_MS:g} ms | "
                     f"{verdict(p99_ms <= LATENCY_P99_MAX_MS)} |")
    return lines + [""]


def settings_section(loads):
    lines = []
    for mode in ("produce", "consume", "latency"):
        report = loads.get(mode)
        if not report:
            continue
        params = " ".join(f"{k}={v}" for k, v in report["parameters"].items())
        lines.append(f"- **{mode}** ({params})")
        for kind in ("producer_settings", "consumer_settings"):
            settings = {k: v for k, v in report[kind].items() if k != "bootstrap.servers"}
            if settings:
                text = " ".join(f"`{k}={v}`" for k, v in settings.items())
                lines.append(f"  - {kind.replace('_', ' ')}: {text}")
        m = report["metrics"]
        if mode == "produce":
            lines.append(f"  - observed: mean produce batch {fmt(m['batch_bytes_mean'] / 1024)} KiB "
                         f"({fmt(m['batch_messages_mean'])} messages), mean request round trip "
                         f"{fmt(m['request_rtt_us_mean'] / 1e3, 2)} ms")
        if mode == "latency":
            lines.append(f"  - observed: mean produce request round trip "
                         f"{fmt(m['produce_request_rtt_us_mean'] / 1e3, 2)} ms, "
                         f"{fmt(m['batch_messages_mean'])} messages per produce batch")
        for note in report.get("notes", []):
            lines.append(f"  - NOTE: {note}")
    return lines + [""]


GROUPS_HEADING = "## Consumer groups"
GROUP_JOIN_LABEL = re.compile(r"load-group-join-(\d+)-delay-(\w+)\.json")
COMMIT_RUNS = (("commit-sync-1", "synchronous, 1 partition per commit"),
               ("commit-sync-6", "synchronous, 6 partitions per commit"),
               ("commit-async-1", "asynchronous, 1 partition per commit"))
# From /work/shared/machine-limits.md, for runs without fio (SKIP_LIMITS=1).
MACHINE_FSYNCS_PER_S = "~3,500–4,000 fsyncs/s (4 KiB appends, fsync p50 230 µs)"


def read_group_joins(run_dir):
    """[(members, delay label, report)] sorted by members, default delay first."""
    runs = []
    for path in glob.glob(os.path.join(run_dir, "load-group-join-*.json")):
        match = GROUP_JOIN_LABEL.fullmatch(os.path.basename(path))
        report = load_json(path)
        if match and report:
            runs.append((int(match.group(1)), match.group(2), report))
    return sorted(runs, key=lambda run: (run[0], run[1] != "default", run[1]))


def group_join_table(runs):
    lines = ["| members | broker `group.initial.rebalance.delay.ms` | stable: median ms | "
             "max ms | min ms | all assigned: median ms | first assignment: median ms | "
             "rebalance callbacks per member | rounds stable |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for members, delay, report in runs:
        m = report["metrics"]
        delay_text = "3000 (default, as Kafka)" if delay == "default" else delay
        stable = int(m.get("rounds_stable", 0))
        rounds = report["parameters"].get("rounds", "?")
        # Without a Stable answer from the broker the summary is empty, not 0 ms.
        stable_ms = [m[f"stable_ms_{q}"] if stable else None for q in ("median", "max", "min")]
        lines.append(
            f"| {members} | {delay_text} | {fmt(stable_ms[0])} | "
            f"{fmt(stable_ms[1])} | {fmt(stable_ms[2])} | "
            f"{fmt(m['all_assigned_ms_median'])} | {fmt(m['first_assignment_ms_median'])} | "
            f"{fmt(m['assignments_per_member'], 2)} | {stable} of {rounds} |")
    return lines + [""]


def commit_table(run_dir, loads, fio_4k):
    lines = ["| commit run | commits/s | partition offsets/s | p50 ms | p99 ms | max ms | "
             "vs fio fsyncs/s (4 KiB) | server CPU-µs/commit | errors |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, text in COMMIT_RUNS:
        report = loads.get(label)
        if not report:
            lines.append(f"| {text} | failed or not run | | | | | | | |")
            continue
        m = report["metrics"]
        in_flight = report["parameters"].get("in_flight", "sync")
        if in_flight != "sync":
            text += f", at most {in_flight} in flight"
        ratio = (f"{m['commits_per_s'] / fio_4k['iops']:.0%}"
                 if fio_4k and fio_4k.get("iops") else "n/a")
        lines.append(
            f"| {text} | {fmt(m['commits_per_s'], 0)} | {fmt(m['partition_offsets_per_s'], 0)} | "
            f"{fmt(m['commit_p50_us'] / 1e3, 2)} | {fmt(m['commit_p99_us'] / 1e3, 2)} | "
            f"{fmt(m['commit_max_us'] / 1e3, 2)} | {ratio} | "
            f"{fmt(server_cpu_us_per_msg(run_dir, label, m['commits']), 1)} | "
            f"{fmt(m['commit_errors'], 0)} |")
    return lines + [""]


def group_notes(joins, loads):
    lines = []
    for members, delay, report in joins:
        for note in report.get("notes", []):
            lines.append(f"- group-join {members} members, delay {delay}: {note}")
    for label, _ in COMMIT_RUNS:
        for note in (loads.get(label) or {}).get("notes", []):
            lines.append(f"- {label}: {note}")
    return lines


def groups_section(run_dir, commands, header):
    """The "Consumer groups" section, self-contained: it may be newer than the rest."""
    joins = read_group_joins(run_dir)
    loads = {label: load_json(os.path.join(run_dir, f"load-{label}.json"))
             for label, _ in COMMIT_RUNS}
    loads = {label: report for label, report in loads.items() if report}
    if not joins and not loads:
        return []
    fio_4k = read_fio(run_dir).get("4k")
    if fio_4k:
        fsync_limit = (f"{fmt(fio_4k['iops'], 0)} fsyncs/s (fio: 4 KiB sequential appends, "
                       f"fsync after each; fsync p50 {fmt(fio_4k['fsync_p50_us'], 0)} µs, "
                       f"p99 {fmt(fio_4k['fsync_p99_us'], 0)} µs), same run")
    else:
        fsync_limit = f"not measured in this run; machine-limits.md: {MACHINE_FSYNCS_PER_S}"
    join_settings = next((r["consumer_settings"] for _, _, r in joins), {})
    commit_settings = next((r["consumer_settings"] for r in loads.values()), {})
    group_commands = [c for c in commands
                      if any(word in c for word in (" serve ", " fake-broker ", " group-join ",
                                                    " commit ", "seqwrite-4k"))]
    settings_text = lambda settings: " ".join(
        f"`{k}={v}`" for k, v in settings.items() if k != "bootstrap.servers")
    problems = group_notes(joins, loads)
    return [
        GROUPS_HEADING,
        "",
        f"Measured {header['date']}, commit `{header['commit']}`, broker {header['broker']}"
        + (" (librdkafka's mock cluster, NOT Fjord: the numbers only test the harness)"
           if header["broker"] == "fake" else "") + ", "
        f"load average before the runs {header['loadavg']}; written by `bench/run.sh` "
        "(`BENCH_PARTS=groups` redoes only this section).",
        "",
        "### Time to a stable group",
        "",
        "`fjord-load group-join`: N librdkafka consumers (one handle each, librdkafka's default",
        "settings, so the eager range/roundrobin assignors) in one process, each connected",
        "first, subscribe to one topic in a fresh group at the same moment. A round is the",
        "time from the first subscribe until every member has had its assignment (rebalance",
        "callback; each partition owned by exactly one member) and DescribeGroups says Stable",
        "with N members. Each size runs a few rounds, each in a new group, on a fresh broker.",
        "The broker's `group.initial.rebalance.delay.ms` (3000 by default, as in Kafka) holds",
        "the first rebalance of a new group back to let more members join, so it dominates the",
        "default rows; the rows with 0 show the protocol's own cost (and more rebalances).",
        "",
        *group_join_table(joins),
        "How to read it: with the default delay one member waits 3 s and more members 6 s,",
        "because, as in Kafka's InitialDelayedJoin, a new group waits one more delay when",
        "members joined during the first. With delay 0 a generation can complete with the",
        "first few members before the others' JoinGroup arrives; its members then get",
        "REBALANCE_IN_PROGRESS from SyncGroup, and librdkafka rejoins only ~2 s later (its",
        "join retry pacing, seen with `debug=cgrp`), hence max ≈ 2 s with a small min.",
        "",
        "### Offset commits",
        "",
        "`fjord-load commit`: one member of a stable group commits explicit offsets in a loop",
        "(`rd_kafka_commit`, async=0: one commit waits for the previous one), or asynchronously",
        "with a bounded number outstanding (`rd_kafka_commit_queue`). Latency is from the call",
        "to its result. Every commit is durable (fsync'd) before the broker answers, so one",
        "synchronous committer cannot beat the disk's fsync rate unless commits share fsyncs",
        "(group commit), which needs several in flight.",
        "",
        f"- fsync limit: {fsync_limit}",
        "",
        *commit_table(run_dir, loads, fio_4k),
        *(["Problems:", "", *problems, ""] if problems else []),
        f"- group-join consumer settings: {settings_text(join_settings)}",
        f"- commit consumer settings: {settings_text(commit_settings)}",
        "",
        "```",
        *group_commands,
        "```",
        "",
    ]


TXN_HEADING = "## Transactions"
TXN_LABEL = re.compile(r"load-(txn-(transactional|idempotent|plain|split)-(\d+))-r(\d+)\.json")
TXN_PRODUCERS = ("transactional", "idempotent", "plain")


def read_txn_runs(run_dir):
    """{(producer, messages per txn): [(label with round, report)]}; producer
    "split" is the transactional run with --flush-before-commit."""
    runs = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "load-txn-*.json"))):
        match = TXN_LABEL.fullmatch(os.path.basename(path))
        report = load_json(path)
        if match and report:
            label = os.path.basename(path)[len("load-"):-len(".json")]
            runs.setdefault((match.group(2), int(match.group(3))), []).append((label, report))
    return runs


def median_metrics(run_dir, rounds):
    """The median of every metric over the rounds, plus broker CPU-µs per
    transaction, the txn/s of each round and the round count."""
    names = set().union(*(report["metrics"] for _, report in rounds))
    medians = {name: statistics.median(report["metrics"].get(name, 0) for _, report in rounds)
               for name in names}
    cpu_per_txn = []
    for label, report in rounds:
        cpu = load_json(os.path.join(run_dir, f"broker-cpu-{label}.json"))
        if cpu and report["metrics"].get("transactions"):
            cpu_per_txn.append(cpu["broker_cpu_s"] * 1e6 / report["metrics"]["transactions"])
    medians["server_cpu_us_per_txn"] = statistics.median(cpu_per_txn) if cpu_per_txn else None
    medians["txn_per_s_rounds"] = sorted(report["metrics"]["txn_per_s"] for _, report in rounds)
    medians["rounds"] = len(rounds)
    return medians


def txn_table(runs, medians, fio_4k):
    lines = ["| producer | msgs/txn | txn/s: median (min–max) | msgs/s | MB/s | commit p50 ms | "
             "commit p99 ms | vs idempotent | vs plain | fio fsyncs per txn | "
             "server CPU-µs/txn | aborted | rounds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    sizes = sorted({size for _, size in runs})
    for size in sizes:
        for producer in TXN_PRODUCERS:
            m = medians.get((producer, size))
            if not m:
                continue
            # Each row against the lighter producers below it.
            ratios = []
            for base in ("idempotent", "plain"):
                other = medians.get((base, size))
                lighter = TXN_PRODUCERS.index(base) > TXN_PRODUCERS.index(producer)
                ratios.append(f"{m['msgs_per_s'] / other['msgs_per_s']:.0%}"
                              if lighter and other and other.get("msgs_per_s") else "")
            # How many 4 KiB fsyncs of fio fit in one transaction's time.
            fsyncs = (f"{fio_4k['iops'] / m['txn_per_s']:.1f}"
                      if fio_4k and fio_4k.get("iops") and m["txn_per_s"] else "n/a")
            spread = m["txn_per_s_rounds"]
            lines.append(
                f"| {producer} | {size} | {fmt(m['txn_per_s'], 0)} "
                f"({fmt(spread[0], 0)}–{fmt(spread[-1], 0)}) | {fmt(m['msgs_per_s'], 0)} | "
                f"{fmt(m['mb_per_s'], 2)} | {fmt(m['commit_p50_us'] / 1e3, 2)} | "
                f"{fmt(m['commit_p99_us'] / 1e3, 2)} | {ratios[0]} | {ratios[1]} | {fsyncs} | "
                f"{fmt(m['server_cpu_us_per_txn'], 0)} | {fmt(m['aborted'], 0)} | {m['rounds']} |")
    return lines + [""]


def txn_split_table(runs, medians, fio_4k):
    sizes = sorted(size for producer, size in runs if producer == "split")
    if not sizes:
        return []
    lines = ["| msgs/txn | whole transaction, mean ms | begin + produce calls | "
             "produce acks (flush) | commit alone | commit p50 ms | commit p99 ms | "
             "commit p50 in fio fsyncs (p50) | idempotent flush, mean ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for size in sizes:
        m = medians[("split", size)]
        client_ms = (m["txn_mean_us"] - m["flush_mean_us"] - m["commit_mean_us"]) / 1e3
        fsyncs = (f"{m['commit_p50_us'] / fio_4k['fsync_p50_us']:.1f}"
                  if fio_4k and fio_4k.get("fsync_p50_us") else "n/a")
        idempotent = medians.get(("idempotent", size))
        lines.append(
            f"| {size} | {fmt(m['txn_mean_us'] / 1e3, 2)} | {fmt(client_ms, 2)} | "
            f"{fmt(m['flush_mean_us'] / 1e3, 2)} | {fmt(m['commit_mean_us'] / 1e3, 2)} | "
            f"{fmt(m['commit_p50_us'] / 1e3, 2)} | {fmt(m['commit_p99_us'] / 1e3, 2)} | "
            f"{fsyncs} | "
            f"{fmt(idempotent['commit_mean_us'] / 1e3, 2) if idempotent else 'n/a'} |")
    return lines + [""]


def txn_notes(runs):
    lines = []
    for (producer, size), rounds in sorted(runs.items()):
        for label, report in rounds:
            for note in report.get("notes", []):
                lines.append(f"- {label}: {note}")
    return lines


def txn_section(run_dir, commands, header):
    """The "Transactions" section, self-contained: it may be newer than the rest."""
    runs = read_txn_runs(run_dir)
    if not runs:
        return []
    medians = {key: median_metrics(run_dir, rounds) for key, rounds in runs.items()}
    # fio ran before and after the txn runs; the disk is shared, so the faster
    # run is the nearer to what the disk can do.
    fio_runs = [(when, read_fio_file(os.path.join(run_dir, name)))
                for when, name in (("before", "fio-4k-before-txn.json"), ("after", "fio-4k.json"))]
    fio_runs = [(when, result) for when, result in fio_runs if result]
    fio_4k = max((result for _, result in fio_runs), key=lambda r: r["iops"], default=None)
    if fio_4k:
        both = ("; the faster of two fio runs: " + ", ".join(
            f"{when} the txn runs {fmt(result['iops'], 0)}/s" for when, result in fio_runs)
            if len(fio_runs) > 1 else "")
        fsync_limit = (f"{fmt(fio_4k['iops'], 0)} fsyncs/s (fio: 4 KiB sequential appends, "
                       f"fsync after each; fsync p50 {fmt(fio_4k['fsync_p50_us'], 0)} µs, "
                       f"p99 {fmt(fio_4k['fsync_p99_us'], 0)} µs), same run{both}")
    else:
        fsync_limit = f"not measured in this run; machine-limits.md: {MACHINE_FSYNCS_PER_S}"
    first = next(iter(runs.values()))[0][1]
    params = first["parameters"]
    settings = {}
    for producer in TXN_PRODUCERS:
        rounds = next((r for (p, _), r in sorted(runs.items()) if p == producer), None)
        if rounds:
            settings[producer] = rounds[0][1]["producer_settings"]
    settings_lines = [
        f"- {producer} producer settings: " + " ".join(
            f"`{k}={v}`" for k, v in values.items() if k != "bootstrap.servers")
        for producer, values in settings.items()]
    # One round's commands stand for all: the rounds repeat them.
    txn_commands = [c for c in commands
                    if (" txn " in c and "-r1.json" in c) or " serve " in c
                    or " fake-broker " in c
                    or (" create-topic " in c and "bench-txn-" in c) or "seqwrite-4k" in c]
    problems = txn_notes(runs)
    plain_1 = medians.get(("plain", 1))
    if fio_4k and plain_1 and plain_1["txn_per_s"] > fio_4k.get("iops", 0):
        # A plain batch of one message waits for one fsync (acks=all), so the
        # broker cannot beat the disk's fsync rate unless fio met a slower disk.
        problems.append(
            f"- the plain producer made {fmt(plain_1['txn_per_s'], 0)} one-message batches/s, "
            f"each waiting for an fsync, more than fio's {fmt(fio_4k['iops'], 0)} fsyncs/s: "
            "fio ran in a slower spell of the shared disk, so compare the rows with each "
            "other rather than with fio")
    return [
        TXN_HEADING,
        "",
        f"Measured {header['date']}, commit `{header['commit']}`, broker {header['broker']}"
        + (" (librdkafka's mock cluster, NOT Fjord: the numbers only test the harness)"
           if header["broker"] == "fake" else "") + ", "
        f"load average before the runs {header['loadavg']}; written by `bench/run.sh` "
        "(`BENCH_PARTS=txn` redoes only this section).",
        "",
        "`fjord-load txn`: one librdkafka producer on a fresh broker, a topic of "
        f"{params.get('partitions', '?')} partitions,",
        f"messages of {params.get('message_bytes', '?')} bytes: `init_transactions` once, then "
        "begin / K messages round-robin",
        "over the partitions / `rd_kafka_commit_transaction` in a loop for "
        f"{params.get('duration_s', '?')} s. The idempotent",
        "(`enable.idempotence=true`) and plain (acks=all) rows send the same batches without",
        "transactions and wait for each batch's acknowledgements (`rd_kafka_flush`) where the",
        "transactional producer commits, so the ratios (msgs/s of the row over msgs/s of the",
        "lighter producer) are the cost of the transaction protocol (AddPartitionsToTxn,",
        "EndTxn, the markers) and of idempotence. Commit latency is the commit call (the flush",
        "for the other rows); it includes waiting for the batch's produce acknowledgements.",
        "The rounds run interleaved (every row once per round); figures are medians over the",
        "rounds.",
        "",
        f"- fsync limit: {fsync_limit}",
        "",
        *txn_table(runs, medians, fio_4k),
        "\"fio fsyncs per txn\": fio's 4 KiB fsync rate divided by transactions/s, i.e. how many",
        "fsyncs the disk could have done in the time of one transaction (or batch).",
        "",
        *([
            "### Where the time of a transaction goes",
            "",
            "Per transaction librdkafka makes three round trips one after the other:",
            "AddPartitionsToTxn (when the first message for a partition is produced; the",
            "coordinator makes the partitions durable in `__transaction_state`), Produce (fsync'd",
            "before the answer, as any acks=all write) and EndTxn, which Fjord answers once the",
            "prepare record, the markers on every partition of the transaction and the complete",
            "record are durable (three writes in sequence; Kafka answers after the prepare record:",
            "docs/transactions.md). The idempotent producer makes only the Produce round trip.",
            "Here the transactional producer flushes each batch (waits for its produce",
            "acknowledgements, so AddPartitionsToTxn and Produce) before",
            "`rd_kafka_commit_transaction`, so that the commit alone (EndTxn) is timed apart.",
            "Means add up; the idempotent column is the same batch's flush without a transaction.",
            "",
            *txn_split_table(runs, medians, fio_4k),
        ] if any(producer == "split" for producer, _ in runs) else []),
        *(["Problems:", "", *problems, ""] if problems else []),
        *settings_lines,
        "",
        "```",
        *txn_commands,
        "```",
        "",
    ]


def problems_of(part, problems):
    """The problems of one part's runs: the txn runs' labels start with txn-, the
    raft runs' notes name fjord-raft-bench; the rest are the groups part's."""
    def part_of(problem):
        if "metadata" in problem:
            return "metadata"
        return "raft" if "raft" in problem else "txn" if "txn" in problem else "groups"
    return [p for p in problems if part_of(p) == part]


def problem_lines(problems):
    """This run's problems, inside the groups section when only it is written."""
    return ["Problems in this run:", "", *problems, ""] if problems else []


def section_bounds(lines, heading):
    """(start, end) of the level-2 section `heading` in `lines`, or None."""
    if heading not in lines:
        return None
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return start, end


def old_section(path, heading):
    """The lines of section `heading` in the file at `path` as it is now, or []."""
    try:
        with open(path) as file:
            lines = file.read().split("\n")
    except OSError:
        return []
    bounds = section_bounds(lines, heading)
    return lines[bounds[0]:bounds[1]] if bounds else []


def splice_section(text, heading, section):
    """Replaces the section `heading` of `text` (up to the next level-2 heading),
    or inserts it before "## Settings" (else at the end)."""
    lines = text.split("\n")
    bounds = section_bounds(lines, heading)
    if bounds:
        return "\n".join(lines[:bounds[0]] + section + lines[bounds[1]:])
    at = lines.index("## Settings") if "## Settings" in lines else len(lines)
    return "\n".join(lines[:at] + section + lines[at:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--commands", required=True)
    parser.add_argument("--broker", default="fjord")
    parser.add_argument("--parts", default="core groups txn",
                        help="what the run measured; without core only the sections of "
                             "groups and txn are replaced in --out")
    args = parser.parse_args()
    parts = args.parts.split()

    loads = {mode: load_json(os.path.join(args.run_dir, f"load-{mode}.json"))
             for mode in ("produce", "consume", "latency")}
    loads = {mode: report for mode, report in loads.items() if report}
    iperf_mb_s = read_iperf(args.run_dir)
    fio = read_fio(args.run_dir)
    with open(args.commands) as file:
        commands = [line.rstrip("\n") for line in file if line.strip()]

    librdkafka = next((r.get("librdkafka") for r in loads.values()), "unknown")
    notes_path = os.path.join(args.run_dir, "notes.txt")
    problems = []
    if os.path.exists(notes_path):
        with open(notes_path) as file:
            problems = [f"- {line.strip()}" for line in file if line.strip()]
    loadavg = "unknown"
    if os.path.exists(os.path.join(args.run_dir, "loadavg.txt")):
        with open(os.path.join(args.run_dir, "loadavg.txt")) as file:
            loadavg = " / ".join(file.read().split()[:3])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    dirty = " (working tree had uncommitted changes)" if git("status", "--porcelain") else ""
    # The commit run.sh built and measured, not the one checked out now.
    commit = git("rev-parse", "--short", "HEAD") + dirty
    if os.path.exists(os.path.join(args.run_dir, "commit.txt")):
        with open(os.path.join(args.run_dir, "commit.txt")) as file:
            commit = file.read().strip() or commit
    header = {"date": now, "commit": commit,
              "broker": args.broker, "loadavg": loadavg}
    sections = {
        "groups": (GROUPS_HEADING, groups_section(args.run_dir, commands, header)),
        "txn": (TXN_HEADING, txn_section(args.run_dir, commands, header)),
        "raft": (RAFT_HEADING, raft_section(args.run_dir, commands, header)),
        "metadata": (METADATA_HEADING, metadata_section(args.run_dir, commands, header)),
        "cluster": (CLUSTER_HEADING, cluster_section(args.run_dir, commands, header)),
    }
    if "core" not in parts:
        with open(args.out) as file:
            text = file.read()
        for part, (heading, section) in sections.items():
            if part not in parts:
                continue
            if not section:
                section = [heading, "", f"No results in the run of {now}.", ""]
            text = splice_section(text, heading,
                                  section + problem_lines(problems_of(part, problems)))
        with open(args.out, "w") as file:
            file.write(text)
        return
    # A part that did not run keeps its section from the last run that had it.
    groups, txn, raft, metadata, cluster = (section if part in parts else old_section(args.out, heading)
                         for part, (heading, section) in sections.items())
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.sh` (`make bench`); do not edit by hand. One run, one machine:",
        "the limits below were measured in the same run, so compare the ratios, not the",
        "absolute figures (see `/work/shared/machine-limits.md`: this machine kind is shared",
        "and noisy, and disks differ between machines).",
        "",
        f"- date: {now}",
        f"- commit: `{commit}`",
        f"- machine: {os.cpu_count()} CPUs ({cpu_model()}), Linux {platform.release()}; "
        f"load average 1/5/15 min before the runs: {loadavg}",
        f"- broker: {args.broker}" + (" — librdkafka's in-memory mock cluster, NOT Fjord: "
                                      "these numbers only test the harness"
                                      if args.broker == "fake" else ""),
        f"- client: fjord-load (librdkafka {librdkafka}), one producer and/or one consumer, "
        "on the same 2 cores as the broker",
        "",
        *(["## Problems in this run", "", *problems, ""] if problems else []),
        "## Results",
        "",
        *results_table(args.run_dir, loads),
        "MB/s is 10^6 bytes of message payload per second. Produce counts acknowledged",
        "messages up to the last acknowledgement; consume reads the whole topic from its first",
        "offset. Latency is from the producer's send call (or, second row, from the pacer's",
        "planned send time, which also counts time the sender fell behind) to the consumer's",
        "receipt, same process and steady clock; the first warm-up seconds are not measured.",
        "",
        "## This machine's limits (same run)",
        "",
        *limits_table(iperf_mb_s, fio),
        "## Targets",
        "",
        *targets_table(loads, iperf_mb_s, fio),
        *groups,
        *txn,
        *raft,
        *metadata,
        *cluster,
        "## Settings",
        "",
        *settings_section(loads),
        "## Commands",
        "",
        "```",
        *commands,
        "```",
        "",
    ]
    with open(args.out, "w") as file:
        file.write("\n".join(lines))


if __name__ == "__main__":
    main()
