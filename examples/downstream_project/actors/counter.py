"""Counter actor: a stateful actor that counts the messages it has received."""
from agavepy.actors import get_client, get_context, update_state


def main() -> None:
    context = get_context()
    # get_client() is an agavepy client bound to the service that runs this execution
    # (_abaco_api_server) with a token of the actor's owner (_abaco_access_token).
    state = get_client().actors.getState(actorId=context["actor_id"]).state or {}
    count = state.get("count", 0) + 1
    # A stateful actor has a single worker, so its messages run one at a time and this
    # read-then-write cannot race another execution of the same actor.
    update_state({"count": count, "last": context["raw_message"]})
    print(f"message {count}: {context['raw_message']}")


if __name__ == "__main__":
    main()
