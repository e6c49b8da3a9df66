"""The "Metadata" section of docs/benchmarks.md, from fjord-metadata-bench's
JSON reports in a bench/run.sh run directory (metadata-apply-end.json,
metadata-apply-each.json, metadata-load.json) and the machine's memory
(metadata-meminfo.txt, a copy of /proc/meminfo before the runs). Standard
library only."""
import json
import os

METADATA_HEADING = "## Metadata"

# The goals of issue 5.
GOAL_RSS_MIB = 2048
GOAL_LOAD_S = 5.0


def _load(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def _meminfo_mib(run_dir, key):
    try:
        with open(os.path.join(run_dir, "metadata-meminfo.txt")) as file:
            for line in file:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _mib(value):
    return "?" if value is None else f"{value:,.0f} MiB"


def metadata_section(run_dir, commands, header):
    """The "Metadata" section, self-contained: it may be newer than the rest."""
    end = _load(os.path.join(run_dir, "metadata-apply-end.json"))
    each = _load(os.path.join(run_dir, "metadata-apply-each.json"))
    load = _load(os.path.join(run_dir, "metadata-load.json"))
    if not end and not load:
        return []
    shape = end or load
    rows = []
    if end:
        rows.append(f"| apply {end['records']:,} records, publish once at the end (start-up replay, "
                    f"a follower catching up) | {end['apply_s']:.2f} s | "
                    f"{end['rss_image_mib']:,.0f} MiB | {end['peak_rss_mib']:,.0f} MiB |")
    if each:
        rows.append(f"| apply the same, publish after every batch (topics created one by one) | "
                    f"{each['apply_s']:.2f} s | {each['rss_image_mib']:,.0f} MiB | "
                    f"{each['peak_rss_mib']:,.0f} MiB |")
    if end:
        rows.append(f"| write the snapshot ({end['snapshot_bytes'] / 2**20:,.0f} MiB): serialize | "
                    f"{end['snapshot_serialize_s']:.2f} s | | |")
        rows.append(f"| write the snapshot: file, fsync, rename | "
                    f"{end['snapshot_write_file_s']:.2f} s | | |")
    if load:
        rows.append(f"| load the snapshot in a fresh process (read the file: "
                    f"{load['read_file_s']:.2f} s) | {load['load_s']:.2f} s | "
                    f"{load['rss_image_mib']:,.0f} MiB | {load['peak_rss_mib']:,.0f} MiB |")
    goals = []
    if load:
        peak = max(load["peak_rss_mib"], end["peak_rss_mib"] if end else 0)
        goals.append(f"- {load['partitions']:,} partitions in well under 2 GiB (the goal is for "
                     f"1,000,000): peak RSS {peak:,.0f} MiB "
                     f"({'met' if peak < GOAL_RSS_MIB / 2 else 'NOT met'}; the image alone "
                     f"{load['rss_image_mib']:,.0f} MiB)")
        goals.append(f"- snapshot load under {GOAL_LOAD_S:.0f} s: {load['load_s']:.2f} s "
                     f"({'met' if load['load_s'] < GOAL_LOAD_S else 'NOT met'})")
    if end and each:
        per_publish_ms = (each["apply_s"] - end["apply_s"]) * 1000 / max(each["topics"], 1)
        goals.append(f"- publishing after every batch costs {per_publish_ms:.1f} ms per batch here: "
                     "a publish shares every unchanged topic (no partition is copied) but copies "
                     "the image's topic maps, so its cost grows with the number of topics "
                     "(a persistent map would make it logarithmic)")
    bench_commands = [c for c in commands if "fjord-metadata-bench" in c]
    return [
        METADATA_HEADING,
        "",
        f"Measured {header['date']}, commit `{header['commit']}`, load average before the runs "
        f"{header['loadavg']}; written by `bench/run.sh` (`BENCH_PARTS=metadata` redoes only "
        "this section).",
        "",
        f"`fjord-metadata-bench`: the metadata state machine of one node with {shape['brokers']} "
        f"registered brokers and {shape['topics']:,} topics of "
        f"{shape['partitions'] // max(shape['topics'], 1):,} partitions "
        f"({shape['partitions']:,} partitions"
        + (f", {end['replicas']} replicas each" if end else "") + "): one batch per topic "
        "(TopicRecord + its PartitionRecords), applied in process without disk I/O; then the",
        "image's snapshot (docs/metadata-log.md, \"Snapshots\") written to a file, and loaded by a",
        "second process. \"Image RSS\" is the process's resident memory after minus before;",
        "\"peak RSS\" its high-water mark (it includes the snapshot's bytes while they are in",
        "memory). Single-threaded.",
        "",
        f"- this machine's memory: {_mib(_meminfo_mib(run_dir, 'MemTotal'))} total, "
        f"{_mib(_meminfo_mib(run_dir, 'MemAvailable'))} available before the runs; "
        f"{os.cpu_count()} CPUs shared with the other work of the machine (load average above)",
        "",
        "| step | time | image RSS | peak RSS |",
        "| --- | ---: | ---: | ---: |",
        *rows,
        "",
        "Goals (issue 5):",
        "",
        *goals,
        "",
        "```",
        *bench_commands,
        "```",
        "",
    ]
