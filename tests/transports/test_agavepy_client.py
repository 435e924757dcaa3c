"""The real agavepy 0.9.5 against the HTTP emulator answers what the in-process facade answers.

One scenario calls every `actors.*` method agavepy has (and `getSearch`, which the
patch adds) with the same arguments through three clients: the facade of an
in-process `AbacoEmulator(runner="local")`, `agave_client(url, token)`, and a plain
`Agave(api_server=url, token=...)` after `patch_agavepy()`. The answers are compared
after ids, times, CPU figures and the server URL are replaced by placeholders.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

agavepy = pytest.importorskip("agavepy")

from abaco_emulator import AbacoEmulator  # noqa: E402
from abaco_emulator.agave import agave_client, fix_resources, patch_agavepy  # noqa: E402
from abaco_emulator.server import serve  # noqa: E402

from abaco_checks import echo  # noqa: E402

ADMIN = "Internal/abaco-admin"
ID_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{12,13}(?![A-Za-z0-9])")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
VOLATILE_NUMBERS = {"cpu", "totalCpu", "runtime", "totalRuntime", "io", "totalIo"}
REPO = Path(__file__).resolve().parents[2]


def results_of(message: str) -> bytes:
    """A handler that logs the message and sends two results."""
    def handler(ctx):
        print("got", ctx["raw_message"], ctx.get("X", "-"))
        ctx.send_result(b"first:" + (ctx["raw_message"] or "").encode())
        return b"second"
    return handler


class Normalizer:
    """Replaces what differs between two equal runs: ids, times, CPU, the server URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.ids: dict[str, str] = {}

    def _id(self, match: re.Match) -> str:
        return self.ids.setdefault(match.group(0), f"<id{len(self.ids) + 1}>")

    def __call__(self, value, key=None):
        if isinstance(value, dict):
            out = {k: self(v, k) for k, v in value.items()}
            if "image" in out and "revision" in out and out.get("status") in ("SUBMITTED", "READY"):
                out["status"] = "<starting or ready>"
            return out
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        if key in VOLATILE_NUMBERS and isinstance(value, (int, float)):
            return "<number>"
        if isinstance(value, str):
            if TIME.match(value):
                return "<time>"
            return ID_IN_TEXT.sub(self._id, value.replace(self.base_url, "<server>"))
        return value


def call(record, name, function):
    try:
        value = function()
    except requests.HTTPError as exc:
        body = exc.response.json()
        value = {"error": exc.response.status_code, "message": body["message"], "status": body["status"]}
    if isinstance(value, requests.Response):
        value = {"status_code": value.status_code, "content": value.content.decode("latin-1")}
    record.append((name, json.loads(json.dumps(value))))
    return value


def settle(emulator, actor_ids, timeout=10):
    """Wait until the actors' workers are READY and nothing runs (no status races)."""
    emulator.drain(timeout)
    deadline = time.monotonic() + timeout
    for actor_id in actor_ids:
        while emulator.service.store.get("actors", actor_id)["status"] != "READY":
            assert time.monotonic() < deadline
            time.sleep(0.01)


def scenario(actors, emulator, with_search=True):
    """Every agavepy actors method, in an order whose answers do not race."""
    r: list = []
    one = call(r, "add", lambda: actors.add(body={"image": "echo:1", "name": "one",
                                                   "defaultEnvironment": {"K": "v"}}))
    two = call(r, "add stateful", lambda: actors.add(body={"image": "results:1", "name": "two", "stateless": False}))
    settle(emulator, [one["id"], two["id"]])
    call(r, "add invalid", lambda: actors.add(body={"name": "no image"}))
    call(r, "get", lambda: actors.get(actorId=one["id"]))
    call(r, "get unknown id", lambda: actors.get(actorId="AAAAAAAAAAAAA"))
    call(r, "get unknown alias", lambda: actors.get(actorId="nothing-here"))
    call(r, "list", lambda: actors.list())
    call(r, "update", lambda: actors.update(actorId=one["id"], body={"image": "echo:1", "description": "changed",
                                                                      "defaultEnvironment": {"K": "v"}}))
    sent = call(r, "sendMessage", lambda: actors.sendMessage(actorId=two["id"], body={"message": "hello"},
                                                             environment={"X": "1"}))
    emulator.wait_for_execution(two["id"], sent["executionId"], 10)
    sent_json = call(r, "sendMessage json", lambda: actors.sendMessage(actorId=two["id"], body={"k": [1, 2]}))
    sent_bin = call(r, "sendBinaryMessage", lambda: actors.sendBinaryMessage(actorId=two["id"],
                                                                               message=b"\x00\x01bin"))
    call(r, "sendMessage bad", lambda: actors.sendMessage(actorId=two["id"], body={"message": 3}))
    for execution in (sent_json, sent_bin):
        emulator.wait_for_execution(two["id"], execution["executionId"], 10)
    settle(emulator, [two["id"]])
    for execution in (sent, sent_json, sent_bin):
        eid = execution["executionId"]
        call(r, "getExecution", lambda: actors.getExecution(actorId=two["id"], executionId=eid))
        call(r, "getExecutionLogs", lambda: actors.getExecutionLogs(actorId=two["id"], executionId=eid))
        for _ in range(3):
            call(r, "getOneExecutionResult",
                 lambda: actors.getOneExecutionResult(actorId=two["id"], executionId=eid))
    call(r, "getExecution unknown", lambda: actors.getExecution(actorId=two["id"], executionId="nope"))
    call(r, "listExecutions", lambda: actors.listExecutions(actorId=two["id"]))
    # (with limit= or offset= a listing is a search in Abaco, an answer agavepy's list model mangles;
    # paging is getSearch's, below)
    call(r, "getMessages", lambda: actors.getMessages(actorId=two["id"]))
    call(r, "deleteMessages", lambda: actors.deleteMessages(actorId=two["id"]))
    call(r, "getState", lambda: actors.getState(actorId=two["id"]))
    call(r, "updateState", lambda: actors.updateState(actorId=two["id"], body={"n": 1, "list": [True, None]}))
    call(r, "getState after", lambda: actors.getState(actorId=two["id"]))
    call(r, "getState stateless", lambda: actors.getState(actorId=one["id"]))
    call(r, "getPermissions", lambda: actors.getPermissions(actorId=one["id"]))
    call(r, "updatePermissions", lambda: actors.updatePermissions(actorId=one["id"],
                                                                  body={"user": "bob", "level": "READ"}))
    call(r, "updatePermissions bad", lambda: actors.updatePermissions(actorId=one["id"],
                                                                      body={"user": "bob", "level": "ALL"}))
    workers = call(r, "listWorkers", lambda: actors.listWorkers(actorId=one["id"]))
    call(r, "getWorker", lambda: actors.getWorker(actorId=one["id"], workerId=workers[0]["id"]))
    call(r, "getWorker unknown", lambda: actors.getWorker(actorId=one["id"], workerId="nope"))
    call(r, "addWorker", lambda: actors.addWorker(actorId=one["id"], body={"num": 1}))
    call(r, "deleteWorker", lambda: actors.deleteWorker(actorId=one["id"], workerId=workers[0]["id"]))
    nonce = call(r, "addNonce", lambda: actors.addNonce(actorId=one["id"], body={"level": "READ", "maxUses": 3}))
    call(r, "addNonce bad", lambda: actors.addNonce(actorId=one["id"], body={"maxUses": 0}))
    call(r, "listNonces", lambda: actors.listNonces(actorId=one["id"]))
    call(r, "getNonce", lambda: actors.getNonce(actorId=one["id"], nonceId=nonce["id"]))
    call(r, "get with nonce", lambda: actors.get(actorId=one["id"], nonce=nonce["id"]))
    call(r, "deleteNonce", lambda: actors.deleteNonce(actorId=one["id"], nonceId=nonce["id"]))
    call(r, "getNonce deleted", lambda: actors.getNonce(actorId=one["id"], nonceId=nonce["id"]))
    call(r, "addAlias", lambda: actors.addAlias(body={"alias": "greeter", "actorId": one["id"]}))
    call(r, "addAlias duplicate", lambda: actors.addAlias(body={"alias": "greeter", "actorId": one["id"]}))
    call(r, "listAliases", lambda: actors.listAliases())
    call(r, "getAlias", lambda: actors.getAlias(alias="greeter"))
    call(r, "get by alias", lambda: actors.get(actorId="greeter"))
    call(r, "deleteAlias", lambda: actors.deleteAlias(alias="greeter"))
    call(r, "getAlias deleted", lambda: actors.getAlias(alias="greeter"))
    if with_search:
        call(r, "getSearch actors", lambda: actors.getSearch(search_type="actors", q=json.dumps({"name": "one"})))
        call(r, "getSearch executions", lambda: actors.getSearch(search_type="executions", limit=2, skip=1))
        call(r, "getSearch bad type", lambda: actors.getSearch(search_type="nothing"))
    call(r, "delete", lambda: actors.delete(actorId=one["id"]))
    call(r, "delete stateful", lambda: actors.delete(actorId=two["id"]))
    call(r, "delete again", lambda: actors.delete(actorId=one["id"]))
    call(r, "list empty", lambda: actors.list())
    return r


def register(emulator):
    emulator.register_image("echo:1", echo)
    emulator.register_image("results:1", results_of("m"))


def facade_answers(roles):
    with AbacoEmulator(runner="local", roles=roles) as emulator:
        register(emulator)
        answers = scenario(emulator.actors, emulator)
        emulator.raise_background_errors()
        normalize = Normalizer(emulator.service.options.api_server)
        return [(name, normalize(value)) for name, value in answers]


def agave_for(how, server):
    if how == "agave_client":
        return agave_client(server.url, server.token)
    patch_agavepy()
    from agavepy.agave import Agave
    return Agave(api_server=server.url, token=server.token)


@pytest.mark.parametrize("roles", [(), (ADMIN,)], ids=["user", "admin"])
@pytest.mark.parametrize("how", ["agave_client", "patched_Agave"])
def test_every_actors_method_answers_as_the_facade(how, roles):
    expected = facade_answers(roles)
    # A token is configured, so the server requires one: agavepy really sends it.
    with serve(runner="local", roles=roles, tokens={"someone-else": "someone"}) as server:
        register(server.emulator)
        ag = agave_for(how, server)
        assert isinstance(ag, agavepy.agave.Agave)
        answers = scenario(ag.actors, server.emulator)
        server.emulator.raise_background_errors()
        normalize = Normalizer(server.url)
        got = [(name, normalize(value)) for name, value in answers]
    assert [name for name, _ in got] == [name for name, _ in expected]
    for (name, value), (_, wanted) in zip(got, expected):
        assert value == wanted, name


def test_agavepy_models_and_errors(abaco_server_local):
    server = abaco_server_local
    ag = agave_client(server.url, server.token)
    actor = ag.actors.add(body={"image": "echo:1"})
    assert isinstance(actor, agavepy.agave.AttrDict) and actor.image == "echo:1"
    with pytest.raises(requests.HTTPError) as info:
        ag.actors.get(actorId="nothing-here")
    assert info.value.response.status_code == 404
    assert info.value.response.json()["status"] == "error"
    purged = ag.actors.deleteMessages(actorId=actor.id)
    assert purged.msg == "Actor mailbox purged." and purged["_links"]["self"].endswith(f"/actors/v2/{actor.id}/messages")
    assert ag.actors.delete(actorId=actor.id) is None


@pytest.fixture
def abaco_server_local():
    with serve(runner="local") as server:
        register(server.emulator)
        yield server


def test_agavepy_with_a_jwt_header_and_with_nonces(abaco_server_local):
    """agavepy's JWT authenticator (get_client's fallback) and use_nonce clients."""
    from agavepy.agave import Agave
    import base64

    server = abaco_server_local
    owner = agave_client(server.url, server.token)
    actor = owner.actors.add(body={"image": "echo:1"})
    nonce = owner.actors.addNonce(actorId=actor.id, body={"level": "EXECUTE"})
    claims = base64.urlsafe_b64encode(json.dumps({"http://wso2.org/claims/enduser": "alice@carbon.super"})
                                      .encode()).decode().rstrip("=")
    patch_agavepy()
    as_alice = Agave(api_server=server.url, jwt=f"e30.{claims}.sig", jwt_header_name="X-JWT-Assertion-DEV-DEVELOP")
    # agavepy strips "/v2" characters off both ends of the URL for JWT clients: /actors/v2 -> /actors
    mine = as_alice.actors.add(body={"image": "echo:1"})
    assert mine.owner == "alice"
    anonymous = Agave(api_server=server.url, use_nonce=True)
    sent = anonymous.actors.sendMessage(actorId=actor.id, body={"message": "with a nonce"}, nonce=nonce.id)
    done = server.emulator.wait_for_execution(actor.id, sent.executionId, 10)
    assert done.executor == server.emulator.user


def test_patch_is_idempotent_and_keeps_https():
    patch_agavepy()
    patch_agavepy()
    import agavepy.agave as module
    wrapped = module.load_resource.__wrapped__
    assert not hasattr(wrapped, "__wrapped__")
    https = module.load_resource("https://api.tacc.utexas.edu")
    actors = next(a for a in https["apis"] if a["path"] == "/actors")["api_declaration"]
    assert actors["basePath"] == "https://api.tacc.utexas.edu"
    assert "ActorMessagesDeleteResponse" in actors["models"]
    http = module.load_resource("http://127.0.0.1:5000")
    assert all(a["api_declaration"]["basePath"].startswith("http://127.0.0.1:5000") for a in http["apis"])
    # fixing twice changes nothing more
    again = fix_resources(json.loads(json.dumps(http)), "http://127.0.0.1:5000")
    assert again == http
    from agavepy.swaggerpy.http_client import TokenAuthenticator
    auth = TokenAuthenticator("127.0.0.1:5000", "t")
    assert auth.matches("http://127.0.0.1:5000/actors/v2")
    assert not auth.matches("http://127.0.0.1:5001/actors/v2")
    assert TokenAuthenticator("api.tacc.utexas.edu", "t").matches("https://api.tacc.utexas.edu/actors/v2")


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(REPO))


def test_unpatched_agavepy_cannot_reach_the_server_and_the_patch_fixes_it():
    """The quirks, shown in a fresh interpreter: https URLs, and no Authorization with a port."""
    result = _python("""
        import requests
        from abaco_emulator.server import serve
        from agavepy.agave import Agave
        import agavepy.agave as module
        with serve(runner="local", tokens={"tok": "alice"}) as server:
            resources = module.load_resource(server.url)
            actors = next(a for a in resources["apis"] if a["path"] == "/actors")["api_declaration"]
            print("basePath", actors["basePath"].split(":")[0])
            print("model", "ActorMessagesDeleteResponse" in actors["models"])
            ag = Agave(api_server=server.url, token="tok")
            try:
                ag.actors.list()
                print("unpatched ok")
            except Exception as exc:
                print("unpatched fails", type(exc).__name__)
            http = ag.all.http_client
            request = requests.Request("GET", server.url + "/actors/v2")
            http.apply_authentication(request)
            print("auth header", "Authorization" in request.headers)
            from abaco_emulator.agave import patch_agavepy
            patch_agavepy()
            ag = Agave(api_server=server.url, token="tok")
            print("patched", ag.actors.list(), ag.actors.add(body={"image": "x"}).owner)
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "basePath https" in lines
    assert "model False" in lines
    assert any(line.startswith("unpatched fails") for line in lines)
    assert "auth header False" in lines
    assert "patched [] alice" in lines


def test_agave_module_stands_alone_without_flask_or_the_package():
    """agave.py can be mounted into a container on its own (sitecustomize)."""
    path = REPO / "abaco_emulator" / "agave.py"
    result = _python(f"""
        import importlib.util, sys
        sys.modules["flask"] = None  # any import of flask fails
        spec = importlib.util.spec_from_file_location("abaco_emulator_agave", {str(path)!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.patch_agavepy_on_import()
        assert "agavepy.agave" not in sys.modules
        import agavepy.agave
        assert module.is_patched()
        module.patch_agavepy_on_import()
        assert "abaco_emulator" not in sys.modules, "the package was imported"
        print("standalone ok")
    """)
    assert result.returncode == 0, result.stderr
    assert "standalone ok" in result.stdout


def test_actors_call_back_through_agavepy_while_executions_run():
    """Handlers use _abaco_api_server/_abaco_access_token: update their state, message another actor."""
    with serve(runner="local", tokens={"someone-else": "someone"}) as server:
        server.emulator.register_image("echo:1", echo)

        def counter(ctx):
            ag = agave_client(ctx["_abaco_api_server"], ctx["_abaco_access_token"])
            state = ag.actors.getState(actorId=ctx["actor_id"]).state or {}
            count = state.get("count", 0) + 1
            ag.actors.updateState(actorId=ctx["actor_id"], body={"count": count})
            sent = ag.actors.sendMessage(actorId=ctx["TARGET"], body={"message": f"count {count}"})
            print("forwarded", sent.executionId)

        server.emulator.register_image("counter:1", counter)
        owner = agave_client(server.url, server.token)
        target = owner.actors.add(body={"image": "echo:1"})
        actor = owner.actors.add(body={"image": "counter:1", "stateless": False,
                                       "defaultEnvironment": {"TARGET": target.id}})
        sent = [owner.actors.sendMessage(actorId=actor.id, body={"message": "go"}).executionId for _ in range(5)]
        for execution_id in sent:
            done = server.emulator.wait_for_execution(actor.id, execution_id, 20)
            assert done.exitCode == 0, owner.actors.getExecutionLogs(actorId=actor.id, executionId=execution_id)
        server.emulator.drain(20)
        assert owner.actors.getState(actorId=actor.id).state == {"count": 5}
        forwarded = owner.actors.listExecutions(actorId=target.id)
        assert forwarded.totalExecutions == 5
        logs = sorted(owner.actors.getExecutionLogs(actorId=target.id, executionId=e["id"]).logs
                      for e in forwarded.executions)
        assert logs == [f"got count {n}\n" for n in range(1, 6)]
        server.emulator.raise_background_errors()


def test_the_added_getSearch_is_the_route_the_server_serves():
    """agave.py cannot import the operation table (it is copied alone into containers)."""
    from abaco_emulator.agave import SEARCH_PATH
    from abaco_emulator.dialects.abaco_v2 import AbacoV2
    from abaco_emulator.operations import operation

    assert SEARCH_PATH == AbacoV2.prefixes[0] + operation("getSearch").path
