"""The real agavepy client against the emulator: `agave_client(url, token)` and `patch_agavepy()`.

agavepy 0.9.5 cannot reach a plain-HTTP server on a port unchanged:

- its resource templates say `"basePath": "https://{{ api_server_base }}"`, so every
  URL is https whatever scheme `api_server` has;
- its authenticators apply only when `self.host == urlsplit(url).hostname`, where
  `host` is the api_server's netloc (`127.0.0.1:5000`), so with a port in the URL the
  `Authorization` header is silently never sent;
- its actors spec names a response model `ActorMessagesDeleteResponse` that it does not
  define, so `deleteMessages` raises KeyError on any JSON 2xx answer;
- it has no `getSearch` (the actors interface of later releases does).

`patch_agavepy()` fixes these four in place: the scheme of `api_server` is kept
(https servers are unaffected), an authenticator also matches host:port, the missing
model is added, and `actors.getSearch(search_type=..., q=..., limit=..., skip=...,
search={...})` is added. It is idempotent and changes nothing else.

`patch_actor_helpers()` is for an actor run outside a container (the local runner's
commands): agavepy's `get_binary_message()` and `send_bytes_result()` use the fixed
paths `/_abaco_binary_data` and `/_abaco_results.sock`, which only a container has;
where the variables `ABACO_EMULATOR_BINARY_DATA` and `ABACO_EMULATOR_RESULTS_SOCKET`
name them elsewhere, the helpers use those instead. Without the variables (inside a
container) it changes nothing.

This module imports nothing from abaco_emulator (nor Flask), so it can be copied or
mounted on its own into an actor container and used from a `sitecustomize`:

    import abaco_emulator_agave; abaco_emulator_agave.patch_agavepy_on_import()
"""
import copy
import functools
import importlib.abc
import os
import socket
import sys
import threading
import urllib.parse

_MARK = "_abaco_emulator_patched"
BINARY_DATA_VARIABLE = "ABACO_EMULATOR_BINARY_DATA"
RESULTS_SOCKET_VARIABLE = "ABACO_EMULATOR_RESULTS_SOCKET"
_lock = threading.Lock()

# The path of the table's getSearch row (operations.py) under the v2 prefix. Written
# out because this module is copied alone into containers and cannot import the
# table; tests/test_agavepy_client.py checks that the two agree.
SEARCH_PATH = "/actors/v2/search/{search_type}"

_SEARCH_OPERATION = {
    "path": SEARCH_PATH,
    "description": "Search Abaco's records (added by abaco_emulator.patch_agavepy).",
    "has_websocket": False,
    "operations": [{
        "method": "GET",
        "nickname": "getSearch",
        "summary": "Search a specific Abaco database.",
        "notes": "",
        "type": "ActorSearchResponse",
        "is_websocket": False,
        "responseMessages": [],
        "parameters": [
            {"name": "search_type", "paramType": "path", "type": "string", "required": True,
             "allowMultiple": False, "description": "actors, workers, executions or logs"},
            {"name": "q", "paramType": "query", "type": "string", "required": False,
             "allowMultiple": False, "description": "A MongoDB-style JSON query."},
            {"name": "limit", "paramType": "query", "type": "integer", "required": False,
             "allowMultiple": False, "description": "The max number of results."},
            {"name": "skip", "paramType": "query", "type": "integer", "required": False,
             "allowMultiple": False, "description": "The number of records to skip."},
        ],
    }],
}


def _response_model(name, result_type):
    return {
        "id": name,
        "name": "",
        "properties": {
            "status": {"type": "string", "name": "status", "description": "success or failure"},
            "message": {"type": "string", "name": "message", "description": "success or failure"},
            "result": {"type": result_type, "name": "result"},
        },
    }


_MODELS = {
    "ActorMessagesDeleteResponse": _response_model("ActorMessagesDeleteResponse", "ActorMessagesDelete"),
    "ActorMessagesDelete": {"id": "ActorMessagesDelete", "name": "", "properties": {
        "msg": {"type": "string", "name": "msg", "description": "What happened to the mailbox."}}},
    "ActorSearchResponse": _response_model("ActorSearchResponse", "ActorSearch"),
    "ActorSearch": {"id": "ActorSearch", "name": "", "properties": {
        "_metadata": {"type": "dict", "name": "_metadata"},
        "search": {"type": "array", "name": "search", "items": {"type": "dict"}}}},
}


def fix_resources(resources, api_server):
    """agavepy's rendered resource listing, fixed for `api_server` (see the module docstring)."""
    scheme = urllib.parse.urlsplit(api_server or "").scheme.lower()
    for api in resources.get("apis", []):
        declaration = api.get("api_declaration") or {}
        base = declaration.get("basePath")
        if scheme and scheme != "https" and isinstance(base, str) and base.startswith("https://"):
            declaration["basePath"] = scheme + "://" + base[len("https://"):]
        nicknames = {op.get("nickname") for entry in declaration.get("apis", []) for op in entry.get("operations", [])}
        if "sendMessage" not in nicknames:
            continue  # not the actors declaration
        models = declaration.setdefault("models", {})
        for name, model in _MODELS.items():
            models.setdefault(name, copy.deepcopy(model))
        if "getSearch" not in nicknames:
            # Before /{actorId} routes in the listing, so nothing shadows it.
            declaration["apis"].insert(0, copy.deepcopy(_SEARCH_OPERATION))
    return resources


def _matches(self, url):
    """An authenticator applies to its host, with or without the port (agavepy compares hostname only)."""
    split = urllib.parse.urlsplit(url)
    return self.host in (split.hostname, split.netloc)


def _patch_authenticators():
    modules = []
    for name in ("agavepy.swaggerpy.http_client", "swaggerpy.http_client"):
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name, fromlist=["Authenticator"])
            except ImportError:
                continue
        modules.append(module)
    for module in modules:
        authenticator = getattr(module, "Authenticator", None)
        if authenticator is not None and not getattr(authenticator, _MARK, False):
            authenticator.matches = _matches
            setattr(authenticator, _MARK, True)


def patch_agavepy():
    """Make `agavepy.agave.Agave(api_server="http://host:port", token=t)` work against the emulator.

    Idempotent; a no-op for https servers except the added model and getSearch.
    """
    import agavepy.agave as agave_module

    with _lock:
        if getattr(agave_module, _MARK, False):
            return
        original = agave_module.load_resource

        def load_resource(api_server):
            return fix_resources(original(api_server), api_server)

        agave_module.load_resource = functools.update_wrapper(load_resource, original)
        _patch_authenticators()
        setattr(agave_module, _MARK, True)


def is_patched():
    module = sys.modules.get("agavepy.agave")
    return bool(module is not None and getattr(module, _MARK, False))


def agave_client(url, token, **kwargs):
    """A real `agavepy.agave.Agave` client bound to the emulator at `url` (applies the patch)."""
    patch_agavepy()
    from agavepy.agave import Agave

    return Agave(api_server=url.rstrip("/"), token=token, **kwargs)


def patch_actor_helpers():
    """Point agavepy's binary-message and results helpers at the files the local runner
    names in the environment (see the module docstring). Idempotent."""
    import agavepy.actors as actors

    binary, results = os.environ.get(BINARY_DATA_VARIABLE), os.environ.get(RESULTS_SOCKET_VARIABLE)
    with _lock:
        if getattr(actors, _MARK, False) or not (binary or results):
            return
        if binary:
            def get_binary_message():
                """Read the full binary message (from the file the emulator names)."""
                with open(binary, "rb") as handle:
                    return handle.read()

            actors.get_binary_message = get_binary_message
        if results:
            def _get_results_socket():
                client = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                try:
                    client.connect(results)
                except OSError as exc:
                    client.close()
                    message = "Exception connecting to results socket: {}".format(exc)
                    print(message)
                    raise actors.AgaveError(message)
                return client

            actors._get_results_socket = _get_results_socket  # what send_bytes_result calls
        setattr(actors, _MARK, True)


# What to patch right after each agavepy module is first imported (before the importer
# binds its names: `from agavepy.actors import get_binary_message` gets the patched one).
_PATCHES = {"agavepy.agave": patch_agavepy, "agavepy.actors": patch_actor_helpers}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Applies the patch of `_PATCHES` right after its agavepy module is first imported."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _PatchingLoader(spec.loader, _PATCHES[fullname])
                return spec
        return None


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader, patch):
        self._loader = loader
        self._patch = patch

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._patch()


def patch_agavepy_on_import():
    """Patch agavepy (and its actor helpers) now where imported, otherwise as soon as
    they are (for sitecustomize)."""
    for name, patch in _PATCHES.items():
        if name in sys.modules:
            patch()
    if not all(name in sys.modules for name in _PATCHES) and \
            not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())
