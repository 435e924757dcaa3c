"""The snippet of issue 2 ("What a user must be able to do"), run exactly as written."""
from __future__ import annotations


def test_issue_2_snippet_works_as_written(capsys):
    from abaco_emulator import AbacoEmulator

    def handler(ctx):                      # the "image" of a local actor
        print("got", ctx["raw_message"])   # printed output becomes the execution's logs
        return b"done"                     # bytes or str: one result (getOneExecutionResult)

    with AbacoEmulator(runner="local") as ag:
        ag.register_image("demo/echo:1", handler)
        a = ag.actors.add(body={"image": "demo/echo:1", "name": "echo", "stateless": False})
        r = ag.actors.sendMessage(actorId=a.id, body={"message": "hello"}, environment={"K": "v"})
        ex = ag.wait_for_execution(a.id, r.executionId, timeout=10)
        assert ex.status == "COMPLETE"
        print(ag.actors.getExecutionLogs(actorId=a.id, executionId=ex.id).logs)
        print(ag.actors.getOneExecutionResult(actorId=a.id, executionId=ex.id).content)

    printed = capsys.readouterr().out
    assert printed == "got hello\n\nb'done'\n"
