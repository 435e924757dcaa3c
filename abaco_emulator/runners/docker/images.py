"""Which images the Docker runner can run, and what it remembers of them.

The pull policy (one of models.PULL_POLICIES) decides what happens to an image the
local engine lacks: by default ('never') nothing is pulled, so no traffic leaves the
machine, and the actor's error says how to build or load the image; 'missing' pulls
it then, 'always' pulls every time. An image's own environment is remembered so that
its PYTHONPATH still applies after the emulator's support directory.
"""
from __future__ import annotations

from typing import Any

from ...advice import PYTHON, Advice
from ...errors import DockerUnavailable, ImageUnavailable


class ImagePolicy:
    """Prepares images under one pull policy, and knows each image's own PYTHONPATH."""

    def __init__(self, client: Any, pull: str, advice: Advice = PYTHON) -> None:
        self._client = client
        self.pull = pull
        self.advice = advice
        self._image_env: dict[str, list[str]] = {}

    def prepare(self, image: str) -> None:
        """Make sure `image` is in the engine, pulling it if the policy says so."""
        import docker.errors
        try:
            if self.pull == "always":
                self._pull(image)
                return
            try:
                self._remember_image(image, self._client.images.get(image))
                return
            except docker.errors.ImageNotFound:
                pass
            if self.pull == "missing":
                self._pull(image)
                return
        except ImageUnavailable:
            raise
        except Exception as exc:
            raise DockerUnavailable(f"the Docker engine could not be asked about image {image}: "
                                    f"{type(exc).__name__}: {exc}") from exc
        raise ImageUnavailable(
            f"Image {image} is not present in the local Docker engine and the emulator does not pull "
            f"images (pull='never'). Build it (docker build -t {image} ...) or load it "
            f"(docker load -i image.tar), or {self.advice.say('pull_missing')}; then update the actor.")

    def pythonpath(self, image: str) -> str:
        """The PYTHONPATH `image` itself sets ("" if none), asked of the engine once."""
        if image not in self._image_env:
            try:
                self._remember_image(image, self._client.images.get(image))
            except Exception:
                self._image_env[image] = []  # create() will say what is wrong with the image
        return next((item.split("=", 1)[1] for item in self._image_env[image]
                     if item.startswith("PYTHONPATH=")), "")

    def _remember_image(self, image: str, found: Any) -> None:
        """Keep the image's own environment (its PYTHONPATH is composed with ours)."""
        self._image_env[image] = list((found.attrs.get("Config") or {}).get("Env") or [])

    def _pull(self, image: str) -> None:
        from docker.utils import parse_repository_tag
        repository, tag = parse_repository_tag(image)
        try:
            self._client.images.pull(repository, tag=tag or "latest")
        except Exception as exc:
            raise ImageUnavailable(f"Image {image} could not be pulled (pull={self.pull!r}): "
                                   f"{type(exc).__name__}: {exc}. Build or load it locally "
                                   f"(docker build -t {image} ... / docker load) and update the actor.") from exc
