"""The `fjord` command line (src/cli): help, argument and configuration errors, messages
when the server is unreachable, and every client command against a real broker.

Uses conftest's `broker` / `broker_factory` fixtures; the CLI binary is FJORD_BIN.
"""

import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import broker_binary, unique_topic, wait_until

CLI_TIMEOUT_S = 60


def fjord(*args, stdin=None, env=None, timeout_s=CLI_TIMEOUT_S):
    """Runs `fjord ARGS...` and returns the CompletedProcess (text mode)."""
    full_env = dict(os.environ)
    full_env.pop("FJORD_BOOTSTRAP", None)
    full_env.update(env or {})
    return subprocess.run([broker_binary(), *args], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=timeout_s)


def fjord_ok(*args, **kwargs):
    result = fjord(*args, **kwargs)
    assert result.returncode == 0, (
        f"fjord {' '.join(args)} exited with {result.returncode}\nstdout: {result.stdout}\n"
        f"stderr: {result.stderr}")
    return result


def error_line(result):
    """The single `fjord: ...` line a failing command prints on stderr."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {result.stderr!r}"
    assert lines[0].startswith("fjord: "), lines[0]
    return lines[0]


def free_port():
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create(broker, topic, *extra):
    fjord_ok("topic", "create", topic, "-b", broker.bootstrap, *extra)
    wait_until(lambda: fjord("topic", "describe", topic, "-b", broker.bootstrap).returncode == 0,
               30, f"topic {topic} to be described")
    return topic


def produce(broker, topic, text, *extra):
    return fjord_ok("produce", topic, "-b", broker.bootstrap, *extra, stdin=text)


def consume(broker, topic, *extra):
    return fjord_ok("consume", topic, "-b", broker.bootstrap, *extra)


# ------------------------------------------------------------------ no server needed


def test_version():
    result = fjord_ok("--version")
    assert result.stdout.startswith("fjord ")
    assert "librdkafka" in result.stdout


def test_help_lists_every_command():
    result = fjord_ok("--help")
    for command in ("serve", "topic", "produce", "consume"):
        assert command in result.stdout


@pytest.mark.parametrize("command,option", [
    (["serve"], "--listen"),
    (["topic", "create"], "--replication-factor"),
    (["topic", "list"], "--bootstrap-server"),
    (["topic", "describe"], "--timeout-ms"),
    (["topic", "alter"], "--delete-config"),
    (["topic", "delete"], "--bootstrap-server"),
    (["produce"], "--key-separator"),
    (["consume"], "--from-timestamp"),
])
def test_command_help(command, option):
    result = fjord_ok(*command, "--help")
    assert option in result.stdout


def test_no_arguments_prints_help_and_fails():
    result = fjord()
    assert result.returncode == 2
    assert "produce" in result.stderr


@pytest.mark.parametrize("args,mentions", [
    (["produce", "t", "--bogus"], "--bogus"),
    (["frobnicate"], "frobnicate"),
    (["topic", "create"], "name"),
    (["consume", "t", "--count", "zero"], "--count"),
])
def test_argument_errors_exit_2_with_a_help_pointer(args, mentions):
    result = fjord(*args)
    assert result.returncode == 2
    line = error_line(result)
    assert mentions in line
    assert "--help" in line


@pytest.mark.parametrize("args,mentions", [
    (["produce", "t", "--acks", "2"], "--acks"),
    (["produce", "t", "--compression", "brotli"], "--compression"),
    (["produce", "t", "--header", "novalue"], "novalue"),
    (["produce", "t", "--file", "/nonexistent/input.txt"], "/nonexistent/input.txt"),
    (["consume", "t", "--format", "%q"], "%q"),
    (["consume", "t", "--offset", "first"], "first"),
    (["consume", "t", "--group", "g", "--partition", "0"], "--group"),
    (["topic", "list", "-b", "no-port"], "no-port"),
    (["topic", "alter", "t"], "nothing to alter"),
    (["topic", "create", "t", "--config", "novalue"], "novalue"),
])
def test_invalid_values_exit_2_naming_the_value(args, mentions):
    result = fjord(*args)
    assert result.returncode == 2
    assert mentions in error_line(result)


@pytest.mark.parametrize("command", [
    ["topic", "list"],
    ["topic", "describe", "t"],
    ["topic", "create", "t"],
    ["produce", "t"],
    ["consume", "t"],
])
def test_unreachable_server_is_one_actionable_line(command):
    address = f"127.0.0.1:{free_port()}"
    result = fjord(*command, "-b", address, "--timeout-ms", "20000", stdin="a\n", timeout_s=30)
    assert result.returncode == 1
    line = error_line(result)
    assert f"cannot reach {address} (connection refused)" in line
    assert "make run" in line


def test_bootstrap_from_environment():
    address = f"127.0.0.1:{free_port()}"
    result = fjord("topic", "list", env={"FJORD_BOOTSTRAP": address})
    assert result.returncode == 1
    assert address in error_line(result)


def test_serve_rejects_an_invalid_config_value(tmp_path):
    config = tmp_path / "server.properties"
    config.write_text("# test\nnum.partitions=many\n")
    result = fjord("serve", "--config", str(config), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    line = error_line(result)
    assert "num.partitions" in line and "'many'" in line and "expected" in line
    assert "server.properties:2" in line


@pytest.mark.parametrize("args,mentions", [
    (["--set", "listeners=SSL://127.0.0.1:9093"], "listeners"),
    (["--set", "log.retention.hours=soon"], "log.retention.hours"),
    (["--set", "novalue"], "novalue"),
    (["--listen", "127.0.0.1"], "--listen"),
    (["--config", "/nonexistent/server.properties"], "/nonexistent/server.properties"),
])
def test_serve_rejects_bad_settings(tmp_path, args, mentions):
    result = fjord("serve", "--data-dir", str(tmp_path / "data"), *args)
    assert result.returncode == 2
    assert mentions in error_line(result)


# ------------------------------------------------------------------ with a broker


def test_serve_warns_about_unknown_keys(broker_factory):
    node = broker_factory(settings={"num.network.threads": "3"})
    with open(node.stderr_path) as err:
        assert "num.network.threads" in err.read()


def test_topic_create_list_describe_delete(broker):
    topic = create(broker, unique_topic("cli"), "--partitions", "3",
                   "--config", "retention.ms=3600000")
    assert topic in fjord_ok("topic", "list", "-b", broker.bootstrap).stdout.splitlines()
    described = fjord_ok("topic", "describe", topic, "-b", broker.bootstrap).stdout
    assert f"Topic: {topic}\tPartitionCount: 3\tReplicationFactor: 1" in described
    for partition in range(3):
        assert f"Partition: {partition}\tLeader: " in described
    assert "retention.ms=3600000\t(set on topic)" in described
    assert fjord_ok("topic", "delete", topic, "-b", broker.bootstrap).stdout.strip() == (
        f"deleted topic '{topic}'")
    wait_until(lambda: topic not in fjord_ok("topic", "list", "-b",
                                             broker.bootstrap).stdout.splitlines(),
               30, f"{topic} to disappear from the list")


def test_create_existing_topic_says_so(broker):
    topic = create(broker, unique_topic("cli"))
    result = fjord("topic", "create", topic, "-b", broker.bootstrap)
    assert result.returncode == 1
    assert "already exists" in error_line(result)


@pytest.mark.parametrize("command", [["topic", "describe"], ["topic", "delete"],
                                     ["consume"]])
def test_unknown_topic_says_how_to_create_it(broker, command):
    topic = unique_topic("missing")
    result = fjord(*command, topic, "-b", broker.bootstrap)
    assert result.returncode == 1
    line = error_line(result)
    assert f"topic '{topic}' does not exist" in line
    assert "fjord topic create" in line


def test_alter_partitions_and_configs(broker):
    topic = create(broker, unique_topic("cli"), "--config", "retention.ms=3600000",
                   "--config", "segment.bytes=1048576")
    fjord_ok("topic", "alter", topic, "-b", broker.bootstrap, "--partitions", "4",
             "--config", "cleanup.policy=compact", "--delete-config", "retention.ms")
    described = fjord_ok("topic", "describe", topic, "-b", broker.bootstrap).stdout
    assert "PartitionCount: 4" in described
    assert "cleanup.policy=compact\t(set on topic)" in described
    assert "segment.bytes=1048576\t(set on topic)" in described
    assert "retention.ms=3600000" not in described


def test_alter_cannot_shrink_partitions(broker):
    topic = create(broker, unique_topic("cli"), "--partitions", "2")
    result = fjord("topic", "alter", topic, "-b", broker.bootstrap, "--partitions", "1")
    assert result.returncode == 2
    assert "cannot be removed" in error_line(result)


def test_produce_lines_then_consume_them(broker):
    topic = create(broker, unique_topic("cli"))
    lines = [f"message {i}" for i in range(100)]
    result = produce(broker, topic, "\n".join(lines) + "\n")
    assert "produced 100 messages" in result.stderr
    assert consume(broker, topic).stdout == "\n".join(lines) + "\n"


def test_keys_headers_and_format(broker):
    topic = create(broker, unique_topic("cli"))
    produce(broker, topic, "k1:v1\nk2:v:2\nnokey\n", "--key-separator", ":",
            "--header", "trace=abc", "--header", "source=cli")
    out = consume(broker, topic, "--format", "%t %p %o [%k] [%v] %h %K\\n").stdout
    assert out.splitlines() == [
        f"{topic} 0 0 [k1] [v1] trace=abc,source=cli 2",
        f"{topic} 0 1 [k2] [v:2] trace=abc,source=cli 2",
        f"{topic} 0 2 [] [nokey] trace=abc,source=cli -1",
    ]


def test_produce_from_file_to_one_partition(broker, tmp_path):
    topic = create(broker, unique_topic("cli"), "--partitions", "3")
    source = tmp_path / "input.txt"
    source.write_text("a\nb\r\nc")
    fjord_ok("produce", topic, "-b", broker.bootstrap, "--file", str(source), "--partition", "2")
    assert consume(broker, topic, "--partition", "2", "--format", "%p:%v\\n").stdout == (
        "2:a\n2:b\n2:c\n")
    assert consume(broker, topic, "--partition", "0").stdout == ""


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_produce_with_compression_and_acks(broker, codec, acks):
    topic = create(broker, unique_topic("cli"))
    lines = [f"{codec}-{acks}-{i}" * 10 for i in range(500)]
    produce(broker, topic, "\n".join(lines) + "\n", "--compression", codec, "--acks", acks)
    # acks=0 gets no acknowledgement: wait until the data is readable.
    wait_until(lambda: consume(broker, topic, "--quiet").stdout.count("\n") == 500, 30,
               "all 500 messages")
    assert consume(broker, topic).stdout.splitlines() == lines


def test_consume_offsets_and_count(broker):
    topic = create(broker, unique_topic("cli"))
    produce(broker, topic, "".join(f"m{i}\n" for i in range(10)))
    assert consume(broker, topic, "--offset", "7").stdout == "m7\nm8\nm9\n"
    assert consume(broker, topic, "--offset", "-2").stdout == "m8\nm9\n"
    assert consume(broker, topic, "--offset", "latest").stdout == ""
    assert consume(broker, topic, "--count", "3").stdout == "m0\nm1\nm2\n"
    result = consume(broker, topic, "--offset", "3", "--count", "2")
    assert result.stdout == "m3\nm4\n"
    assert "consumed 2 messages" in result.stderr


def test_consume_from_timestamp(broker):
    topic = create(broker, unique_topic("cli"))
    produce(broker, topic, "old\n")
    time.sleep(0.05)
    boundary_ms = int(time.time() * 1000)
    time.sleep(0.05)
    produce(broker, topic, "new\n")
    assert consume(broker, topic, "--from-timestamp", str(boundary_ms)).stdout == "new\n"
    future_ms = int(time.time() * 1000) + 3_600_000
    assert consume(broker, topic, "--from-timestamp", str(future_ms)).stdout == ""


def test_consume_stops_at_end_of_every_partition(broker):
    topic = create(broker, unique_topic("cli"), "--partitions", "3")
    produce(broker, topic, "".join(f"k{i}:v{i}\n" for i in range(30)), "--key-separator", ":")
    out = consume(broker, topic).stdout.splitlines()
    assert sorted(out) == sorted(f"v{i}" for i in range(30))


def test_consume_with_group_commits_offsets(broker):
    topic = create(broker, unique_topic("cli"), "--partitions", "2")
    group = unique_topic("group")
    produce(broker, topic, "".join(f"{i}:{i}\n" for i in range(20)), "--key-separator", ":")
    first = consume(broker, topic, "--group", group).stdout.splitlines()
    assert sorted(first, key=int) == [str(i) for i in range(20)]
    produce(broker, topic, "late:after\n", "--key-separator", ":")
    assert consume(broker, topic, "--group", group).stdout == "after\n"


def test_consume_follow_prints_new_messages_until_interrupted(broker):
    topic = create(broker, unique_topic("cli"))
    follower = subprocess.Popen(
        [broker_binary(), "consume", topic, "-b", broker.bootstrap, "--follow",
         "--offset", "earliest"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        produce(broker, topic, "live\n")
        assert follower.stdout.readline() == "live\n"
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=30) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_produce_to_missing_topic_without_auto_create(broker_factory):
    node = broker_factory(settings={"auto.create.topics.enable": "false"})
    topic = unique_topic("missing")
    result = fjord("produce", topic, "-b", node.bootstrap, stdin="x\n")
    assert result.returncode == 1
    line = error_line(result)
    assert f"topic '{topic}' does not exist" in line
    assert "fjord topic create" in line


def test_produce_reports_an_overlong_line(broker):
    topic = create(broker, unique_topic("cli"))
    result = fjord("produce", topic, "-b", broker.bootstrap, "--max-line-bytes", "10",
                   stdin="short\n" + "x" * 11 + "\n")
    assert result.returncode == 1
    assert "line 2 is longer than 10 bytes" in result.stderr


@pytest.mark.fjord_timeout(300)
def test_large_input_reports_a_summary(broker):
    topic = create(broker, unique_topic("cli"))
    count = 200_000
    result = produce(broker, topic, "".join(f"{i:08d}\n" for i in range(count)))
    assert f"produced {count} messages" in result.stderr
    out = consume(broker, topic, "--format", "%o\\n", "--quiet").stdout.split()
    assert len(out) == count and out[-1] == str(count - 1)
