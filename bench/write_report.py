#!/usr/bin/env python3
"""Writes docs/benchmarks.md from the raw results of one bench/run.sh run.

The run directory holds fjord-load's JSON reports (load-<mode>.json), the
broker's CPU time per mode (broker-cpu-<mode>.json), iperf3 -J output
(iperf3.json) and fio JSON output (fio-<bs>.json). Standard library only.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import subprocess

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


def read_fio(run_dir):
    """{block size text: {"mb_s", "fsync_p50_us", "fsync_p99_us", "bytes"}}"""
    results = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "fio-*.json"))):
        data = load_json(path)
        if not data or not data.get("jobs"):
            continue
        job = data["jobs"][0]
        block_size = os.path.basename(path)[len("fio-"):-len(".json")]
        percentiles = job.get("sync", {}).get("lat_ns", {}).get("percentile", {})
        results[block_size] = {
            "mb_s": job["write"]["bw_bytes"] / 1e6,
            "bytes": job["write"]["io_bytes"],
            "fsync_p50_us": percentiles.get("50.000000", 0) / 1e3,
            "fsync_p99_us": percentiles.get("99.000000", 0) / 1e3,
        }
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--commands", required=True)
    parser.add_argument("--broker", default="fjord")
    args = parser.parse_args()

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
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.sh` (`make bench`); do not edit by hand. One run, one machine:",
        "the limits below were measured in the same run, so compare the ratios, not the",
        "absolute figures (see `/work/shared/machine-limits.md`: this machine kind is shared",
        "and noisy, and disks differ between machines).",
        "",
        f"- date: {now}",
        f"- commit: `{git('rev-parse', '--short', 'HEAD')}`{dirty}",
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
