"""Builds textstats' actor images through the Docker SDK (`docker build --target ...`)."""
from __future__ import annotations

from pathlib import Path

import docker

ACTORS = Path(__file__).resolve().parent / "actors"
IMAGES = {"wordcount": "textstats/wordcount:dev", "counter": "textstats/counter:dev"}
DEFAULT_BASE = "python:3.11-slim"


def build(base: str = DEFAULT_BASE) -> dict[str, str]:
    """Build each actor's image on `base`; {actor: image tag}. Layers are cached, so a rebuild is quick."""
    client = docker.from_env()
    try:
        for target, tag in IMAGES.items():
            # rm/forcerm: remove the build's intermediate containers, even after a failure.
            client.images.build(path=str(ACTORS), target=target, tag=tag, buildargs={"BASE": base},
                                rm=True, forcerm=True)
    finally:
        client.close()
    return dict(IMAGES)
