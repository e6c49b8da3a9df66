"""The "Controller failover" section of docs/benchmarks.md, from
bench/cluster_failover.py's JSON report (cluster-failover.json) in a
bench/run.sh run directory. Standard library only."""
import json
import os
import statistics

CLUSTER_HEADING = "## Controller failover"


def _summary(values_ms):
    return (f"{statistics.median(values_ms):,.0f} ms "
            f"({min(values_ms):,.0f}-{max(values_ms):,.0f})")


def cluster_section(run_dir, commands, header):
    """The section, self-contained: it may be newer than the rest."""
    try:
        with open(os.path.join(run_dir, "cluster-failover.json")) as file:
            report = json.load(file)
    except (OSError, ValueError):
        return []
    if not report.get("elections_ms"):
        return []
    bench_commands = [c for c in commands if "cluster_failover.py" in c]
    return [
        CLUSTER_HEADING,
        "",
        f"Measured {header['date']}, commit `{header['commit']}`, load average before the runs "
        f"{header['loadavg']}; written by `bench/run.sh` (`BENCH_PARTS=cluster` redoes only "
        "this section).",
        "",
        "`bench/cluster_failover.py`: three `fjord serve` nodes on loopback (one metadata "
        "quorum). Each round kills the active controller with `kill -9` and measures, from the "
        "kill, until both survivors name the same new controller in Metadata, and until a "
        "CreateTopics through the survivors is acknowledged; then the killed node is restarted "
        "and rejoins before the next round. Medians (min-max). Binary: "
        f"`{report.get('binary', '?')}`.",
        "",
        "| controller.quorum.election.timeout.ms | rounds | new controller named by both "
        "survivors | first CreateTopics acknowledged |",
        "| ---: | ---: | ---: | ---: |",
        f"| {report['election_timeout_ms']} | {report['rounds']} | "
        f"{_summary(report['elections_ms'])} | {_summary(report['first_writes_ms'])} |",
        "",
        "A follower waits one election timeout drawn from [T, 2T) without hearing from the "
        "leader, then runs a pre-vote and a vote round; the new leader becomes the active "
        "controller once its LeaderChange entry is committed and applied.",
        "",
        *(["```", *bench_commands, "```", ""] if bench_commands else []),
    ]
