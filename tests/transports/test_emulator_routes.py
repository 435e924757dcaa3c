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


def test_the_overview_pages_filter_and_page_what_the_caller_may_read():
    with serve(runner="local", tokens={"alice-token": "alice", "bob-token": "bob"}) as server:
        server.emulator.register_image("quiet:1", lambda ctx: None)
        alice, bob = ({"Authorization": f"Bearer {who}-token"} for who in ("alice", "bob"))
        api, overview = server.url + "/actors/v2", server.url + "/emulator/v1/actors"
        mine = [requests.post(api, json={"image": "quiet:1", "name": f"a{n}"}, headers=alice).json()["result"]
                for n in range(3)]
        broken = requests.post(api, json={"image": "missing:1"}, headers=alice).json()["result"]
        requests.post(api, json={"image": "quiet:1"}, headers=bob)
        wait_until(lambda: requests.get(f"{api}/{broken['id']}", headers=alice).json()["result"]["status"] == "ERROR",
                   what="the actor whose image is missing to fail")

        page = requests.get(overview, params={"limit": 2}, headers=alice).json()["result"]
        assert page["total"] == 4 and page["owners"] == ["alice"]
        assert [a["id"] for a in page["actors"]] == [broken["id"], mine[2]["id"]]  # newest first
        older = requests.get(overview, params={"limit": 2, "skip": 2}, headers=alice).json()["result"]
        assert [a["id"] for a in older["actors"]] == [mine[1]["id"], mine[0]["id"]]
        failed = requests.get(overview, params={"status": "error"}, headers=alice).json()["result"]
        assert [a["id"] for a in failed["actors"]] == [broken["id"]]
        assert "missing:1" in failed["actors"][0]["status_message"]
        assert requests.get(overview, params={"search": "a1"}, headers=alice).json()["result"]["total"] == 1
        assert requests.get(overview, params={"owner": "bob"}, headers=alice).json()["result"]["total"] == 0
        assert requests.get(overview).status_code == 401
        bad = requests.get(overview, params={"limit": "-1"}, headers=alice)
        assert bad.status_code == 400 and "limit" in bad.json()["message"]
        denied = requests.get(f"{overview}/{mine[0]['id']}/executions", headers=bob)
        assert denied.status_code == 400 and "Not authorized" in denied.json()["message"]


def test_a_result_is_read_by_its_place_without_popping_it():
    def two_results(ctx):
        ctx.send_result(b"first \x00 bytes")
        ctx.send_result(b"second")

    with serve(runner="local") as server:
        server.emulator.register_image("results:1", two_results)
        api = server.url + "/actors/v2"
        actor = requests.post(api, json={"image": "results:1"}).json()["result"]
        execution_id = requests.post(f"{api}/{actor['id']}/messages", json={"message": "m"}).json()[
            "result"]["executionId"]
        server.emulator.wait_for_execution(actor["id"], execution_id, 10)
        detail = f"{server.url}/emulator/v1/actors/{actor['id']}/executions/{execution_id}"

        assert requests.get(detail).json()["result"]["results"] == 2
        assert requests.get(detail + "/results/1").content == b"second"
        assert requests.get(detail + "/results/0").content == b"first \x00 bytes"
        assert requests.get(detail + "/results/0").content == b"first \x00 bytes"  # still there
        assert requests.get(f"{api}/{actor['id']}/executions/{execution_id}/results").content == b"first \x00 bytes"
        assert requests.get(detail).json()["result"]["results"] == 1
        for index in ("1", "x", "-1"):
            answer = requests.get(f"{detail}/results/{index}")
            assert answer.status_code == 400 and answer.json()["status"] == "error"


def test_live_logs_from_an_offset_answer_only_what_follows_it():
    with serve(runner="local") as server:
        server.emulator.register_image("lines:1", lambda ctx: print("one\ntwo\nthree"))
        api = server.url + "/actors/v2"
        actor = requests.post(api, json={"image": "lines:1"}).json()["result"]
        execution_id = requests.post(f"{api}/{actor['id']}/messages", json={"message": "m"}).json()[
            "result"]["executionId"]
        server.emulator.wait_for_execution(actor["id"], execution_id, 10)
        live = f"{server.url}/emulator/v1/actors/{actor['id']}/executions/{execution_id}/logs"

        whole = requests.get(live).json()["result"]
        assert whole["logs"] == "one\ntwo\nthree\n" and whole["offset"] == 0 and whole["length"] == 14
        tail = requests.get(live, params={"offset": 4}).json()["result"]
        assert tail["logs"] == "two\nthree\n" and tail["offset"] == 4 and tail["length"] == 14
        assert requests.get(live, params={"offset": 14}).json()["result"]["logs"] == ""
        # past the end (logs replaced): the whole text again, from 0
        reset = requests.get(live, params={"offset": 99}).json()["result"]
        assert reset["logs"] == "one\ntwo\nthree\n" and reset["offset"] == 0
        bad = requests.get(live, params={"offset": "x"})
        assert bad.status_code == 400 and "offset" in bad.json()["message"]
