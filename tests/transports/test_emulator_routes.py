"""The emulator's own routes (`/emulator/v1/...`): what tools need that Abaco does not have."""
from __future__ import annotations

import requests

from abaco_checks import Gate, wait_until
from abaco_emulator import serve
from abaco_emulator.openapi import openapi_document


def _talker(gate: Gate):
    def handler(ctx):
        print("first line")
        gate(ctx)
        print("last line")
    return handler


def test_live_logs_show_what_a_running_execution_wrote_so_far():
    gate = Gate(timeout=20)
    with serve(runner="local") as server:
        server.emulator.register_image("talker:1", _talker(gate))
        api = server.url + "/actors/v2"
        actor = requests.post(api, json={"image": "talker:1"}).json()["result"]
        execution_id = requests.post(f"{api}/{actor['id']}/messages", json={"message": "m"}).json()[
            "result"]["executionId"]
        live = f"{server.url}/emulator/v1/actors/{actor['id']}/executions/{execution_id}/logs"
        assert gate.started.wait(10)

        running = wait_until(lambda: requests.get(live).json()["result"], what="live logs")
        assert running["logs"].startswith("first line\n") and "last line" not in running["logs"]
        assert running["status"] == "RUNNING" and running["finished"] is False
        # Abaco's own route shows logs only once the execution ends, and so does the emulator's copy of it.
        assert requests.get(f"{api}/{actor['id']}/executions/{execution_id}/logs").json()["result"]["logs"] == ""

        gate.release.set()
        server.emulator.wait_for_execution(actor["id"], execution_id, 10)
        done = requests.get(live).json()
        assert done["status"] == "success"
        assert done["result"]["status"] == "COMPLETE" and done["result"]["finished"] is True
        assert "first line\n" in done["result"]["logs"] and "last line\n" in done["result"]["logs"]


def test_live_logs_need_read_access_as_the_execution_does():
    with serve(runner="local", tokens={"alice-token": "alice", "bob-token": "bob"}) as server:
        server.emulator.register_image("quiet:1", lambda ctx: None)
        alice = {"Authorization": "Bearer alice-token"}
        api = server.url + "/actors/v2"
        actor = requests.post(api, json={"image": "quiet:1"}, headers=alice).json()["result"]
        execution_id = requests.post(f"{api}/{actor['id']}/messages", json={"message": "m"},
                                     headers=alice).json()["result"]["executionId"]
        live = f"{server.url}/emulator/v1/actors/{actor['id']}/executions/{execution_id}/logs"
        denied = requests.get(live, headers={"Authorization": "Bearer bob-token"})
        assert denied.status_code == 400 and "Not authorized" in denied.json()["message"]
        assert requests.get(live).status_code == 401
        unknown = requests.get(live.replace(execution_id, "XXXXXXXXXXXXX"), headers=alice)
        assert unknown.status_code == 400 and "No executions found" in unknown.json()["message"]


def test_the_emulators_own_routes_are_not_in_abacos_openapi_document():
    assert not any(path.startswith("/emulator") or path.endswith("/live") for path in openapi_document()["paths"])
