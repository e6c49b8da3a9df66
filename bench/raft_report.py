"""The "Raft" section of docs/benchmarks.md, from fjord-raft-bench's JSON
reports in a bench/run.sh run directory (raft-limits.json, raft-<label>.json)
and fio's 4 KiB fsync'd writes (fio-4k-raft.json). Standard library only."""
import json
import os

RAFT_HEADING = "## Raft"

# (label, what the row is), in the order run.sh runs them.
RAFT_RUNS = [
    ("1-group-latency", "1 group, 1 proposal in flight"),
    ("1-group-latency-log", "1 group, 1 in flight, LogStorage"),
    ("1-group-throughput", "1 group, 64 in flight"),
    ("10000-groups", "10,000 groups, 1 in flight each"),
]


def _load(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def _ms(us):
    return f"{us / 1000:.2f}"


def _run_table(run_dir):
    rows = []
    for label, name in RAFT_RUNS:
        report = _load(os.path.join(run_dir, f"raft-{label}.json"))
        if not report:
            rows.append(f"| {name} | not run or failed | | | | | | | |")
            continue
        latency = report["latency"]
        nodes = report["nodes"]
        syncs = "/".join(f"{n['syncs_per_s']:.0f}" for n in nodes)
        frames = "/".join(f"{n['frames_sent_per_s']:.0f}" for n in nodes)
        heartbeat_ms = report["tick_ms"] * report["heartbeat_ticks"]
        election_ms = report["tick_ms"] * report["election_ticks"]
        rows.append(
            f"| {name} | {report['storage']} | {heartbeat_ms} / {election_ms}-{2 * election_ms} "
            f"| {report['commits_per_s']:,.0f} | {_ms(latency['p50_us'])} "
            f"| {_ms(latency['p99_us'])} | {_ms(latency['p999_us'])} | {syncs} | {frames} "
            f"| {report['cpu_cores']:.2f} |")
    return [
        "| run | storage | heartbeat / election ms | commits/s | p50 ms | p99 ms | p99.9 ms "
        "| fsyncs/s per node | frames/s per node | CPU cores |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _limits(run_dir):
    limits = _load(os.path.join(run_dir, "raft-limits.json"))
    lines = ["| limit (same run) | p50 | p99 |", "|---|---|---|"]
    if limits:
        rtt = limits["loopback_round_trip"]
        fsync = limits["append_4k_fdatasync"]
        lines.append(f"| TCP round trip on 127.0.0.1, 64 bytes | {rtt['p50_us']:.0f} µs "
                     f"| {rtt['p99_us']:.0f} µs |")
        lines.append(f"| 4 KiB append + fdatasync, build/ disk | {_ms(fsync['p50_us'])} ms "
                     f"| {_ms(fsync['p99_us'])} ms |")
    fio = _load(os.path.join(run_dir, "fio-4k-raft.json"))
    if fio and fio.get("jobs"):
        job = fio["jobs"][0]
        sync = job.get("sync", {}).get("lat_ns", {}).get("percentile", {})
        lines.append(f"| fio: fsync after each 4 KiB write ({job['write']['iops']:.0f} writes/s) "
                     f"| {sync.get('50.000000', 0) / 1e6:.2f} ms "
                     f"| {sync.get('99.000000', 0) / 1e6:.2f} ms |")
    return lines + [""]


def raft_section(run_dir, commands, header):
    if not any(os.path.exists(os.path.join(run_dir, f"raft-{label}.json"))
               for label, _ in RAFT_RUNS):
        return []
    raft_commands = [c for c in commands if "fjord-raft-bench" in c or "fio-4k-raft" in c
                     or "seqwrite-4k" in c]
    return [
        RAFT_HEADING,
        "",
        f"Measured {header['date']} at `{header['commit']}`; load average before the runs: "
        f"{header['loadavg']}.",
        "",
        "`fjord-raft-bench run`: three `RaftRuntime`s in one process, one io_context thread",
        "each (runtime-per-thread, the node's shape), on 127.0.0.1, sharing this machine's 2",
        "cores. Every group keeps its proposals in flight on its leader, each one record",
        "batch (one 100-byte record, 170 bytes); latency is from `propose()` on the leader",
        "to the entry being committed and applied there. Storage `memory-fsync` is",
        "`raft::MemoryStorage` plus, per node, a journal file that receives every appended",
        "entry's bytes and one `fdatasync` per driver pass that wrote (a shared write-ahead",
        "log with group commit: the durability cost, not a real log format); `LogStorage` is",
        "the node's segmented log, one directory and one fsync per group per pass.",
        "",
        *_run_table(run_dir),
        *_limits(run_dir),
        "How to read it:",
        "",
        "- A commit costs two fsyncs one after the other (the leader syncs before its",
        "  appends leave, then the follower syncs before it acknowledges) plus a round",
        "  trip; the fsync figure of the same run bounds it. The syncs run on the",
        "  runtime's thread, so a slow fsync also delays ticks and message handling.",
        "- With 10,000 groups each keeping one proposal in flight, latency is what",
        "  Little's law says: 10,000 in flight divided by the commit rate. That rate is",
        "  bound by the disk, not the CPU (see the cores column): every entry is written",
        "  on all three nodes (about 200 bytes",
        "  each with the journal's header), so 10,000 commits/s are about 6 MB/s of",
        "  fdatasync'ed appends to this one shared disk, and each node's passes wait for",
        "  a sync of a few hundred KB (the fsyncs/s column). The batching works as meant:",
        "  some 30 frames per second per node carry all groups' messages.",
        "- 10,000 groups run with heartbeats every 500 ms and elections after 3-6 s. With",
        "  the defaults (100 ms, 1-2 s) the idle groups' heartbeats alone are 200,000",
        "  messages/s plus as many responses; three nodes on these 2 cores handle about",
        "  180,000/s, fall behind, and late heartbeats cause elections faster than they",
        "  complete (measured at c9ed81b: about half the groups kept a leader). Coalescing",
        "  the heartbeats of all groups between two nodes into one (and quiescing idle",
        "  groups) is the next step for many groups.",
        "",
        "Commands:",
        "",
        "```",
        *raft_commands,
        "```",
        "",
    ]
