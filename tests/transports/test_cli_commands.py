"""The everyday commands (`actors ls|add|show|rm`, `send`, `executions`, `logs`).

Each is run through `cli.main([...])` against a running server (`--url`, the local
runner, images registered through `server.emulator.register_image`) or against a
database file opened in process (`--db`, the local runner with `--local-command`, or
Docker with the busybox test image).
"""
from __future__ import annotations

import io
import json
import re
import socket
import threading

import pytest
import requests

import abaco_emulator
from abaco_emulator import AbacoEmulator, AttrDict, cli
from abaco_emulator.cli import target, waits

BUSYBOX = "abaco-emulator/busybox:test"
ID = re.compile(r"^[A-Za-z0-9]{12,13}$")


@pytest.fixture(autouse=True)
def no_target_from_environment(monkeypatch):
    """The commands read ABACO_URL/ABACO_TOKEN: the tests set them only on purpose."""
    monkeypatch.delenv(target.ENV_URL, raising=False)
    monkeypatch.delenv(target.ENV_TOKEN, raising=False)


def echo(ctx):
    print(f"MSG={ctx.raw_message} type={ctx.content_type} GREETING={ctx.get('GREETING', '')}")


def fail(ctx):
    print("about to fail")
    raise SystemExit(3)


def binary(ctx):
    print(f"{len(ctx.binary)} bytes: {ctx.binary!r}")


@pytest.fixture
def server():
    with abaco_emulator.serve(runner="local") as running:
        running.emulator.register_image("test/echo:1", echo)
        running.emulator.register_image("test/fail:1", fail)
        running.emulator.register_image("test/binary:1", binary)
        yield running
        running.emulator.raise_background_errors()


def run(capsys, *argv):
    """`abaco-emulator ARGV...`: (exit status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def add_actor(capsys, server, *flags):
    status, out, err = run(capsys, "actors", "add", "--url", server.url, "-q", *flags)
    assert status == 0, err
    actor_id = out.strip()
    assert ID.match(actor_id), out
    return actor_id


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- actors ----------------------------------------------------------------------------

def test_actors_ls_prints_an_aligned_table_of_the_actors(capsys, server):
    first = add_actor(capsys, server, "--image", "test/echo:1", "--name", "a")
    second = add_actor(capsys, server, "--image", "test/binary:1", "--name", "a-longer-name")

    status, out, _ = run(capsys, "actors", "ls", "--url", server.url)

    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "IMAGE", "STATUS", "STATELESS"]
    assert set(lines[1]) == {"-", " "}
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == {first, second}
    image_column = lines[0].index("IMAGE")
    assert rows[first][image_column:].startswith("test/echo:1")
    assert rows[second][image_column:].startswith("test/binary:1")


def test_actors_ls_json_is_the_raw_result(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")

    status, out, _ = run(capsys, "actors", "ls", "--url", server.url, "--json")

    assert status == 0
    listed = json.loads(out)
    assert [a["id"] for a in listed] == [actor_id]
    assert listed[0]["image"] == "test/echo:1" and "_links" in listed[0]


def test_json_flag_is_accepted_before_the_action(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")

    status, out, _ = run(capsys, "actors", "--json", "ls", "--url", server.url)

    assert status == 0 and [a["id"] for a in json.loads(out)] == [actor_id]


def test_actors_ls_says_so_when_there_are_none(capsys, server):
    assert run(capsys, "actors", "ls", "--url", server.url)[:2] == (0, "No actors.\n")


def test_actors_add_turns_flags_into_the_description(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1", "--name", "counter", "--stateful",
                         "--env", "GREETING=hi", "--env", "EMPTY=", "--hint", "tutorial",
                         "--description", "counts")

    actor = server.emulator.actors.get(actorId=actor_id)
    assert actor.name == "counter" and actor.description == "counts"
    assert actor.stateless is False
    assert actor.defaultEnvironment == {"GREETING": "hi", "EMPTY": ""}
    assert actor.hints == ["tutorial"]


def test_actors_add_takes_a_json_body_that_flags_override(capsys, server):
    body = {"image": "test/binary:1", "name": "from-json", "defaultEnvironment": {"A": "1"}}
    actor_id = add_actor(capsys, server, "--json", json.dumps(body), "--image", "test/echo:1", "--env", "B=2")

    actor = server.emulator.actors.get(actorId=actor_id)
    assert (actor.image, actor.name) == ("test/echo:1", "from-json")
    assert actor.defaultEnvironment == {"A": "1", "B": "2"}


def test_actors_add_json_alone_prints_the_new_actor_as_json(capsys, server):
    status, out, _ = run(capsys, "actors", "add", "--url", server.url, "--image", "test/echo:1", "--json")

    assert status == 0
    actor = json.loads(out)
    assert actor["status"] == "SUBMITTED" and server.emulator.actors.get(actorId=actor["id"]).image == "test/echo:1"


def test_actors_add_wait_reports_an_actor_whose_image_cannot_run(capsys, server):
    status, out, err = run(capsys, "actors", "add", "--url", server.url, "--image", "test/unregistered:1", "--wait")

    assert status == 1
    assert re.search(r"^status\s+ERROR$", out, re.M)
    assert "is in ERROR" in err and "not registered" in err


def test_actors_add_refused_by_the_service_prints_its_message(capsys, server):
    status, out, err = run(capsys, "actors", "add", "--url", server.url, "--name", "no-image")

    assert status == 1 and out == ""
    assert err.startswith("abaco-emulator actors add: ") and "image" in err.lower()


def test_actors_show_prints_fields_as_key_value_lines(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1", "--name", "shown", "--env", "K=V")

    status, out, _ = run(capsys, "actors", "show", actor_id, "--url", server.url)

    assert status == 0
    fields = dict(line.split(None, 1) for line in out.splitlines() if len(line.split(None, 1)) == 2)
    assert fields["id"] == actor_id and fields["name"] == "shown" and fields["image"] == "test/echo:1"
    assert json.loads(fields["defaultEnvironment"]) == {"K": "V"}
    assert out.splitlines()[0].startswith("id ")
    assert "_links" not in out

    status, out, _ = run(capsys, "actors", "show", actor_id, "--url", server.url, "--json")
    assert json.loads(out) == server.emulator.actors.get(actorId=actor_id)


def test_actors_rm_deletes_each_actor_and_reports_the_missing_ones(capsys, server):
    first = add_actor(capsys, server, "--image", "test/echo:1")
    second = add_actor(capsys, server, "--image", "test/echo:1")

    status, out, err = run(capsys, "actors", "rm", first, "NoSuchActor12", second, "--url", server.url)

    assert status == 1
    assert out.splitlines() == [f"Deleted actor {first}.", f"Deleted actor {second}."]
    assert "NoSuchActor12" in err and "Traceback" not in err
    assert server.emulator.actors.list() == []


def test_actors_without_an_action_is_a_usage_error(capsys):
    status, _, err = run(capsys, "actors")
    assert status == 2 and "ls, add, update, show or rm" in err


# -- send ------------------------------------------------------------------------------

def test_send_without_wait_prints_the_execution_id(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")

    status, out, _ = run(capsys, "send", actor_id, "hello", "--url", server.url)

    assert status == 0
    execution_id = re.search(r"^executionId\s+(\S+)$", out, re.M).group(1)
    assert re.search(r"^msg\s+hello$", out, re.M)
    ex = server.emulator.wait_for_execution(actor_id, execution_id, timeout=10)
    assert ex.status == "COMPLETE"


def test_send_wait_prints_status_exit_code_and_logs(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")

    status, out, _ = run(capsys, "send", actor_id, "hello world", "--url", server.url, "--wait")

    assert status == 0
    assert re.search(r"^Execution \w{12,13} COMPLETE: exit code 0, runtime \d+ s$", out, re.M)
    assert "  | MSG=hello world type=str GREETING=" in out


def test_send_a_json_object_as_json_and_anything_else_as_a_string(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")

    _, as_object, _ = run(capsys, "send", actor_id, '{"n": 3}', "--url", server.url, "--wait", "--json")
    _, as_list, _ = run(capsys, "send", actor_id, "[1, 2]", "--url", server.url, "--wait", "--json")
    _, as_number, _ = run(capsys, "send", actor_id, "42", "--url", server.url, "--wait", "--json")

    assert "type=application/json" in json.loads(as_object)["logs"]
    assert "MSG=[1, 2] type=str" in json.loads(as_list)["logs"]
    assert "MSG=42 type=str" in json.loads(as_number)["logs"]


def test_send_env_sets_variables_of_the_execution(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1", "--env", "GREETING=from-actor")

    _, out, _ = run(capsys, "send", actor_id, "hi", "--url", server.url, "--wait", "--env", "GREETING=from-message")

    assert "GREETING=from-message" in out


def test_send_wait_json_is_the_execution_with_its_logs(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")

    status, out, _ = run(capsys, "send", actor_id, "x", "--url", server.url, "--wait", "--json")

    execution = json.loads(out)
    assert status == 0 and execution["status"] == "COMPLETE" and execution["exitCode"] == 0
    assert execution["logs"].startswith("MSG=x ")
    assert execution == {**server.emulator.actors.getExecution(actorId=actor_id, executionId=execution["id"]),
                         "logs": execution["logs"]}


def test_send_wait_of_a_failing_actor_shows_its_exit_code_and_logs(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/fail:1")

    status, out, _ = run(capsys, "send", actor_id, "x", "--url", server.url, "--wait")

    # Abaco marks the execution COMPLETE whatever the exit code: the command succeeds.
    assert status == 0
    assert re.search(r"COMPLETE: exit code 3,", out)
    assert "  | about to fail" in out


def test_send_binary_from_a_file_and_from_stdin(capsys, server, tmp_path, monkeypatch):
    actor_id = add_actor(capsys, server, "--image", "test/binary:1")
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"\x00\x01\xffdata")

    status, out, _ = run(capsys, "send", actor_id, "--binary", payload, "--url", server.url, "--wait")
    assert status == 0 and r"7 bytes: b'\x00\x01\xffdata'" in out

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"from stdin")))
    status, out, _ = run(capsys, "send", actor_id, "--binary", "-", "--url", server.url, "--wait")
    assert status == 0 and "10 bytes: b'from stdin'" in out


def test_send_needs_exactly_one_of_message_and_binary(capsys, server, tmp_path):
    assert run(capsys, "send", "A", "--url", server.url)[0] == 2
    status, _, err = run(capsys, "send", "A", "text", "--binary", tmp_path / "x", "--url", server.url)
    assert status == 2 and "MESSAGE or --binary" in err


def test_send_wait_gives_up_after_timeout_and_names_the_actor_error(capsys, server):
    actor_id = run(capsys, "actors", "add", "--url", server.url, "-q", "--image", "test/unregistered:1",
                   "--wait")[1].strip()

    status, _, err = run(capsys, "send", actor_id, "x", "--url", server.url, "--wait", "--timeout", "0.3")

    assert status == 1
    assert "is still SUBMITTED after 0.3 s" in err
    assert "its actor is in ERROR" in err and "not registered" in err


def test_send_to_a_missing_actor_prints_the_abaco_message(capsys, server):
    status, out, err = run(capsys, "send", "NoSuchActor12", "x", "--url", server.url)

    with pytest.raises(requests.HTTPError) as refused:
        server.emulator.actors.sendMessage(actorId="NoSuchActor12", body={"message": "x"})
    assert status == 1 and out == ""
    assert err == f"abaco-emulator send: {refused.value.response.json()['message']}\n"


# -- executions and logs ---------------------------------------------------------------

def sent_and_finished(capsys, server, actor_id, message="m"):
    status, out, _ = run(capsys, "send", actor_id, message, "--url", server.url, "-q")
    assert status == 0
    execution_id = out.strip()
    server.emulator.wait_for_execution(actor_id, execution_id, timeout=10)
    return execution_id


def test_executions_lists_a_table_and_the_totals(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")
    ids = [sent_and_finished(capsys, server, actor_id) for _ in range(2)]

    status, out, _ = run(capsys, "executions", actor_id, "--url", server.url)

    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "RECEIVED", "STARTED", "FINISHED"]
    assert {line.split()[0] for line in lines[2:4]} == set(ids)
    assert all(line.split()[1] == "COMPLETE" for line in lines[2:4])
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", lines[2].split()[2])
    assert lines[4].startswith(f"2 execution(s) of actor {actor_id}; total runtime ")


def test_executions_json_and_one_execution(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/fail:1")
    execution_id = sent_and_finished(capsys, server, actor_id)

    status, out, _ = run(capsys, "executions", actor_id, "--url", server.url, "--json")
    assert status == 0 and json.loads(out) == server.emulator.actors.listExecutions(actorId=actor_id)

    status, out, _ = run(capsys, "executions", actor_id, execution_id, "--url", server.url)
    assert status == 0
    assert re.search(r"^exitCode\s+3$", out, re.M) and re.search(r"^status\s+COMPLETE$", out, re.M)


def test_logs_prints_the_log_text_as_is(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")
    execution_id = sent_and_finished(capsys, server, actor_id, "two words")

    status, out, _ = run(capsys, "logs", actor_id, execution_id, "--url", server.url)
    assert (status, out) == (0, "MSG=two words type=str GREETING=\n")

    status, out, _ = run(capsys, "logs", actor_id, execution_id, "--url", server.url, "--json")
    assert status == 0 and json.loads(out)["logs"] == "MSG=two words type=str GREETING=\n"


def test_logs_of_a_missing_execution_prints_the_abaco_message(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")

    status, _, err = run(capsys, "logs", actor_id, "NoSuchExec123", "--url", server.url)

    assert status == 1 and "No executions found" in err


def test_logs_follow_waits_until_the_execution_ends(capsys, server, monkeypatch):
    release = threading.Event()

    def slow(ctx):
        release.wait(10)
        print("finished after being released")

    server.emulator.register_image("test/slow:1", slow)
    actor_id = add_actor(capsys, server, "--image", "test/slow:1")
    execution_id = run(capsys, "send", actor_id, "x", "--url", server.url, "-q")[1].strip()
    polls = []

    def pause(seconds):  # the command polls while the execution runs; then let it end
        polls.append(seconds)
        release.set()
        server.emulator.wait_for_execution(actor_id, execution_id, timeout=10)

    monkeypatch.setattr(waits, "pause", pause)
    status, out, _ = run(capsys, "logs", actor_id, execution_id, "--url", server.url, "--follow")

    assert status == 0 and polls
    assert out == "finished after being released\n"


class GrowingLogs:
    """An `actors` object whose execution log grows at each poll, then completes."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.polls = 0

    def getExecution(self, actorId, executionId):
        return AttrDict(id=executionId, status="COMPLETE" if self.polls >= len(self.chunks) - 1 else "RUNNING")

    def getExecutionLogs(self, actorId, executionId):
        text = "".join(self.chunks[: self.polls + 1])
        return AttrDict(logs=text)


def test_logs_follow_prints_only_the_new_text_at_each_poll(capsys, monkeypatch):
    actors = GrowingLogs(["one\n", "two\n", "three\n"])
    printed = []

    def pause(seconds):
        printed.append(capsys.readouterr().out)
        actors.polls += 1

    monkeypatch.setattr(target, "open_target", lambda args: target.Target(actors, "fake", url="fake"))
    monkeypatch.setattr(target, "close_target", lambda opened, graceful=True: None)
    monkeypatch.setattr(waits, "pause", pause)

    status = cli.main(["logs", "A", "E", "--follow", "--url", "http://fake"])

    printed.append(capsys.readouterr().out)
    assert status == 0
    assert printed == ["one\n", "two\n", "three\n"]


def test_logs_follow_ends_cleanly_on_ctrl_c(capsys, server, monkeypatch):
    release = threading.Event()
    server.emulator.register_image("test/blocked:1", lambda ctx: release.wait(10))
    actor_id = add_actor(capsys, server, "--image", "test/blocked:1")
    execution_id = run(capsys, "send", actor_id, "x", "--url", server.url, "-q")[1].strip()

    def interrupt(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(waits, "pause", interrupt)
    try:
        status, _, err = run(capsys, "logs", actor_id, execution_id, "--url", server.url, "--follow")
    finally:
        release.set()
    assert status == 0 and err == ""


# -- where the actors are, and what goes wrong -----------------------------------------

def test_a_refused_connection_says_how_to_start_a_server(capsys):
    url = f"http://127.0.0.1:{free_port()}"

    status, out, err = run(capsys, "actors", "ls", "--url", url)

    assert status == 1 and out == ""
    assert f"the server at {url} does not answer" in err
    assert f"abaco-emulator serve --port {url.rsplit(':', 1)[1]}" in err


def test_without_url_or_db_the_command_says_what_to_give(capsys):
    status, _, err = run(capsys, "actors", "ls")
    assert status == 2 and "--url" in err and "--db" in err and target.ENV_URL in err


def test_url_and_db_together_are_refused(capsys, tmp_path):
    status, _, err = run(capsys, "actors", "ls", "--url", "http://127.0.0.1:1", "--db", tmp_path / "x.json")
    assert status == 2 and "not both" in err


def test_bad_command_line_values_are_usage_errors(capsys, server):
    assert run(capsys, "send", "A", "x", "--env", "NOEQUALS", "--url", server.url)[0] == 2
    assert run(capsys, "actors", "add", "--json", "{not json", "--url", server.url)[0] == 2
    assert run(capsys, "actors", "add", "--json", "[1]", "--url", server.url)[0] == 2
    assert run(capsys, "actors", "ls", "--url", "127.0.0.1:5000")[0] == 2
    assert run(capsys, "actors", "ls", "--url", server.url, "--runner", "local")[0] == 2


def test_url_and_token_come_from_the_environment(capsys, monkeypatch):
    with abaco_emulator.serve(runner="local", tokens={"secret-token": "alice"}) as secured:
        monkeypatch.setenv(target.ENV_URL, secured.url)

        status, _, err = run(capsys, "actors", "ls")
        assert status == 1 and "--token" in err and target.ENV_TOKEN in err

        monkeypatch.setenv(target.ENV_TOKEN, "secret-token")
        status, out, _ = run(capsys, "actors", "add", "--image", "x/y:1", "--json")
        assert status == 0 and json.loads(out)["owner"] == "alice"


def test_help_explains_that_db_runs_queued_messages_in_process(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["send", "--help"])
    assert exit_info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "runs the execution in this process" in help_text
    assert "queued messages" in help_text


# -- --db: a database file opened in process -------------------------------------------

ECHO_COMMAND = 'test/sh:1=sh -c "echo MSG=$MSG GREETING=$GREETING; wc -c < ${ABACO_EMULATOR_BINARY_DATA:-/dev/null}"'


def db_run(capsys, db, *argv):
    return run(capsys, *argv, "--db", db, "--runner", "local", "--local-command", ECHO_COMMAND)


def test_db_commands_work_on_a_file_and_run_messages_in_process(capsys, tmp_path):
    db = tmp_path / "abaco.json"
    status, out, _ = db_run(capsys, db, "actors", "add", "--image", "test/sh:1", "--name", "sh", "-q",
                            "--env", "GREETING=hello")
    actor_id = out.strip()
    assert status == 0 and ID.match(actor_id)

    status, out, _ = db_run(capsys, db, "send", actor_id, "from the db", "--wait", "--json")
    execution = json.loads(out)
    assert status == 0 and execution["status"] == "COMPLETE"
    assert execution["logs"].splitlines() == ["MSG=from the db GREETING=hello", "0"]

    status, out, _ = db_run(capsys, db, "actors", "ls")
    assert status == 0 and re.search(rf"^{actor_id}\s+sh\s+test/sh:1\s+READY\s+true$", out, re.M)
    status, out, _ = db_run(capsys, db, "executions", actor_id)
    assert status == 0 and out.splitlines()[2].startswith(f"{execution['id']}  COMPLETE")

    with AbacoEmulator(db_path=str(db), runner="local") as reopened:
        logs = reopened.actors.getExecutionLogs(actorId=actor_id, executionId=execution["id"]).logs
        assert logs.startswith("MSG=from the db")


def test_db_send_binary_and_env(capsys, tmp_path):
    db = tmp_path / "abaco.json"
    actor_id = db_run(capsys, db, "actors", "add", "--image", "test/sh:1", "-q")[1].strip()
    payload = tmp_path / "payload.bin"
    payload.write_bytes(bytes(range(256)))

    status, out, _ = db_run(capsys, db, "send", actor_id, "--binary", payload, "--env", "GREETING=bin", "--wait")

    assert status == 0
    assert "  | MSG= GREETING=bin" in out and "  | 256" in out


def test_db_send_without_wait_does_not_kill_the_execution_on_exit(capsys, tmp_path):
    db = tmp_path / "abaco.json"
    actor_id = db_run(capsys, db, "actors", "add", "--image", "test/sh:1", "-q")[1].strip()

    status, out, _ = db_run(capsys, db, "send", actor_id, "later", "-q")
    assert status == 0
    execution_id = out.strip()

    # Either it ran to its end before the command exited, or it waits in the file.
    with AbacoEmulator(db_path=str(db), runner="local") as reopened:
        reopened.register_image("test/sh:1", command=["sh", "-c", "echo MSG=$MSG"])
        ex = reopened.wait_for_execution(actor_id, execution_id, timeout=10)
        logs = reopened.actors.getExecutionLogs(actorId=actor_id, executionId=execution_id).logs
    assert ex.status == "COMPLETE" and ex.exitCode == 0
    assert logs.startswith("MSG=later") and "force-quit" not in logs


def test_db_local_runner_actor_without_a_command_goes_to_error(capsys, tmp_path):
    db = tmp_path / "abaco.json"
    actor_id = db_run(capsys, db, "actors", "add", "--image", "other/image:1", "-q")[1].strip()

    status, out, _ = run(capsys, "actors", "show", actor_id, "--db", db, "--runner", "local")

    assert status == 0
    assert re.search(r"^status\s+ERROR$", out, re.M)
    assert re.search(r"^statusMessage\s+Image other/image:1 is not registered with the local runner", out, re.M)


def test_db_local_command_needs_the_local_runner(capsys, tmp_path):
    status, _, err = run(capsys, "actors", "ls", "--db", tmp_path / "x.json", "--local-command", "a=b")
    assert status == 2 and "--runner local" in err


def test_db_file_in_use_by_another_process_is_refused(capsys, tmp_path):
    db = tmp_path / "abaco.json"
    held = AbacoEmulator(db_path=str(db), runner="local")  # as a running `serve --db` holds it
    try:
        status, _, err = run(capsys, "actors", "ls", "--db", db, "--runner", "local")
    finally:
        held.close()
    assert status == 1 and "is in use by another emulator" in err and "serve --db" in err
    assert run(capsys, "actors", "ls", "--db", db, "--runner", "local")[0] == 0


def test_db_damaged_file_is_reported_in_one_line(capsys, tmp_path):
    db = tmp_path / "abaco.json"
    db.write_text("{this is not json")

    status, out, err = run(capsys, "actors", "ls", "--db", db, "--runner", "local")

    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1 and f"cannot read the database file {db}" in err


def test_db_that_is_a_directory_is_reported(capsys, tmp_path):
    status, _, err = run(capsys, "actors", "ls", "--db", tmp_path, "--runner", "local")
    assert status == 1 and "is a directory" in err


@pytest.mark.docker
def test_db_with_the_docker_runner_runs_a_container_in_process(capsys, tmp_path):
    db = tmp_path / "abaco.json"
    status, out, err = run(capsys, "actors", "add", "--db", db, "--image", BUSYBOX, "-q", "--wait",
                           "--env", 'SCRIPT=echo "container says $MSG"; exit 4')
    assert status == 0, err
    actor_id = out.strip()

    status, out, err = run(capsys, "send", actor_id, "hi", "--db", db, "--wait")

    assert status == 0, err
    assert re.search(r"COMPLETE: exit code 4,", out)
    assert "  | container says hi" in out


def test_db_without_a_docker_engine_suggests_the_local_runner(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")

    status, out, err = run(capsys, "actors", "ls", "--db", tmp_path / "abaco.json")

    assert status == 1 and out == ""
    assert "no Docker engine answers" in err and "--runner local" in err


# -- streaming, never hanging, and the rest of issue 14's CLI -------------------------

def test_logs_follow_prints_lines_while_the_execution_runs(capsys, server, monkeypatch):
    release = threading.Event()

    def talker(ctx):
        print("first line", flush=True)
        release.wait(10)
        print("last line")

    server.emulator.register_image("test/talker:1", talker)
    actor_id = add_actor(capsys, server, "--image", "test/talker:1")
    execution_id = run(capsys, "send", actor_id, "x", "--url", server.url, "-q")[1].strip()
    seen_while_running = []

    def pause(seconds):
        out = capsys.readouterr().out
        if "first line" in out and not release.is_set():
            seen_while_running.append(out)
            release.set()
        elif not release.is_set():
            threading.Event().wait(seconds)
        else:
            seen_while_running.append(out)

    monkeypatch.setattr(waits, "pause", pause)
    status = cli.main(["logs", actor_id, execution_id, "--url", server.url, "--follow"])
    rest = capsys.readouterr()

    assert status == 0, rest.err
    assert seen_while_running[0] == "first line\n"  # printed before the execution ended
    assert "".join(seen_while_running[1:]) + rest.out == "last line\n"


def test_logs_follow_ends_saying_why_when_the_actor_is_in_error(capsys, server):
    status, out, err = run(capsys, "actors", "add", "--url", server.url, "--image", "test/unregistered:1",
                           "--wait", "-q")
    actor_id = out.strip()
    assert status == 1 and "ERROR" in err
    execution_id = run(capsys, "send", actor_id, "x", "--url", server.url, "-q")[1].strip()

    status, out, err = run(capsys, "logs", actor_id, execution_id, "--url", server.url, "--follow",
                           "--timeout", "30")

    assert status == 1 and out == ""
    assert f"actor {actor_id} is in ERROR" in err and "SUBMITTED" in err and "will not run" in err


def test_logs_follow_timeout_gives_up_with_status_1(capsys, server):
    release = threading.Event()
    server.emulator.register_image("test/stuck:1", lambda ctx: release.wait(20))
    actor_id = add_actor(capsys, server, "--image", "test/stuck:1")
    execution_id = run(capsys, "send", actor_id, "x", "--url", server.url, "-q")[1].strip()
    try:
        status, _, err = run(capsys, "logs", actor_id, execution_id, "--url", server.url, "--follow",
                             "--timeout", "0.5")
    finally:
        release.set()
    assert status == 1 and "gave up after 0.5 s" in err
    assert run(capsys, "logs", actor_id, execution_id, "--url", server.url, "--timeout", "1")[0] == 2
    with pytest.raises(SystemExit) as exit_:
        cli.main(["logs", actor_id, execution_id, "--url", server.url, "--follow", "--timeout", "-3"])
    assert exit_.value.code == 2 and "above 0" in capsys.readouterr().err


def test_version_is_the_packages(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"abaco-emulator {abaco_emulator.__version__}\n"


def test_actors_update_changes_what_the_flags_say_and_keeps_the_rest(capsys, server):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1", "--name", "greeter", "--env", "GREETING=hi")

    status, out, err = run(capsys, "actors", "update", actor_id, "--url", server.url, "--image", "test/fail:1",
                           "--env", "EXTRA=1", "--json")

    assert status == 0, err
    updated = json.loads(out)
    assert updated["image"] == "test/fail:1" and updated["name"] == "greeter"
    assert updated["defaultEnvironment"] == {"GREETING": "hi", "EXTRA": "1"}
    status, _, err = run(capsys, "actors", "update", "NoSuchActor12", "--url", server.url, "--image", "x:1")
    assert status == 1 and "NoSuchActor12" in err


class ClosedPipe(io.StringIO):
    """A stdout whose reader has gone (`abaco-emulator actors ls | head -1`)."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("argv", [["actors", "ls"], ["actors", "ls", "--json"], ["executions", "ACTOR"]])
def test_a_closed_pipe_ends_quietly_with_status_0(capsys, server, monkeypatch, argv):
    actor_id = add_actor(capsys, server, "--image", "test/echo:1")
    argv = [actor_id if a == "ACTOR" else a for a in argv]
    monkeypatch.setattr("sys.stdout", ClosedPipe())

    status = cli.main([*argv, "--url", server.url])

    assert status == 0
    assert capsys.readouterr().err == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_waits_show_a_status_line_on_a_terminal_and_nothing_when_piped(capsys, server, monkeypatch):
    release = threading.Event()
    server.emulator.register_image("test/slow:1", lambda ctx: release.wait(10))
    actor_id = add_actor(capsys, server, "--image", "test/slow:1")
    polls = []

    def pause(seconds):
        polls.append(seconds)
        if len(polls) > 2:
            release.set()
        threading.Event().wait(0.05)

    monkeypatch.setattr(waits, "pause", pause)
    terminal_out, terminal_err = Terminal(), Terminal()
    monkeypatch.setattr("sys.stdout", terminal_out)
    monkeypatch.setattr("sys.stderr", terminal_err)
    assert cli.main(["send", actor_id, "x", "--url", server.url, "--wait"]) == 0
    shown = terminal_err.getvalue()
    assert "\r\x1b[K| execution " in shown and " is RUNNING (" in shown
    assert shown.endswith("\r\x1b[K")  # erased once the wait is over
    assert "COMPLETE" in terminal_out.getvalue() and "\r" not in terminal_out.getvalue()

    monkeypatch.undo()
    release.clear()
    polls.clear()
    monkeypatch.setattr(waits, "pause", pause)
    status, out, err = run(capsys, "send", actor_id, "x", "--url", server.url, "--wait")
    assert status == 0 and err == "" and "\r" not in out  # piped: nothing extra


def test_advice_in_errors_names_the_cli_flags(capsys, tmp_path, monkeypatch):
    status, out, _ = run(capsys, "actors", "add", "--db", tmp_path / "abaco.json", "--runner", "local",
                         "--image", "unknown/image:1", "--wait")
    assert status == 1
    assert "--local-command 'unknown/image:1=COMMAND'" in out and "register_image" not in out

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    status, _, err = run(capsys, "actors", "ls", "--db", tmp_path / "other.json")
    assert status == 1 and "use --runner local" in err and "AbacoEmulator(" not in err
