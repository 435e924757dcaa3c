"""Word-count actor: counts the words of each message and returns the counts as a result."""
import json
from collections import Counter

from agavepy.actors import get_context, send_bytes_result


def count_words(text: str) -> dict:
    words = (word.strip(".,;:!?\"'()").lower() for word in text.split())
    return dict(Counter(word for word in words if word))


def main() -> None:
    context = get_context()
    # raw_message is the message as sent; a JSON message is also parsed into message_dict.
    counts = count_words(context["raw_message"] or "")
    # A result is one datagram on the socket /_abaco_results.sock; the caller reads it
    # with actors.getOneExecutionResult. JSON bytes keep it readable from any language
    # (send_python_result would send a cloudpickle instead).
    send_bytes_result(json.dumps(counts, sort_keys=True).encode())
    # What the actor prints becomes the execution's logs.
    print(f"{sum(counts.values())} words, {len(counts)} distinct")


if __name__ == "__main__":
    main()
