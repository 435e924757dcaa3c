"""The layers of docs/architecture.md hold: nothing imports upward, and no module imports itself back.

The imports are read from the source (every `import` and `from ... import`, also those
inside functions; those under `if TYPE_CHECKING:` are only for types and are left out).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "abaco_emulator"

# Top to bottom; a module may import its own layer and the layers below it.
LAYERS: list[tuple[str, set[str]]] = [
    ("transports", {"__init__", "__main__", "cli", "pytest_plugin", "server", "http_server", "http_app", "client",
                    "remote", "openapi", "demo", "emulator", "table", "tapis_services", "tapipy_client",
                    "dashboard"}),
    ("dialects", {"dialects", "forms"}),
    ("operations", {"operations"}),
    ("service", {"service", "configs", "events", "scheduler", "overview"}),
    ("engine", {"engine"}),
    ("auth", {"auth"}),
    ("runners", {"runners", "contract"}),
    ("store", {"store"}),
    ("records", {"models", "schemas", "query", "cron", "clock"}),
    ("foundations", {"errors", "keycase", "waiting", "attrdict", "sealing", "advice", "parsing"}),
    # Copied alone into actor containers (the runners mount it): it imports nothing of the package.
    ("standalone", {"agave"}),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    top = module.split(".")[0]
    for index, (_, members) in enumerate(LAYERS):
        if top in members:
            return index
    raise AssertionError(f"module {module} is in no layer of this test: add it where it belongs")


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path) -> set[str]:
    """The package modules `path` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            if node.module:  # from .x.y import name: the module x.y
                found.add(".".join([*base, node.module]))
            else:  # from . import name: name is a module
                found.update(".".join([*base, alias.name]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("abaco_emulator"):
            found.add(node.module[len("abaco_emulator."):] if node.module != "abaco_emulator" else "__init__")
        elif isinstance(node, ast.Import):
            found.update(a.name[len("abaco_emulator."):] for a in node.names if a.name.startswith("abaco_emulator."))
    found.discard("")
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    for path in SOURCES:
        layer_of(module_name(path))


@pytest.mark.parametrize("path", SOURCES, ids=module_name)
def test_nothing_imports_upward(path):
    module = module_name(path)
    upward = [target for target in imports_of(path) if layer_of(target) < layer_of(module)]
    assert upward == [], f"{module} ({LAYERS[layer_of(module)][0]}) imports the layer above it: {upward}"


def test_there_are_no_import_cycles():
    graph = {module_name(path): imports_of(path) for path in SOURCES}
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(target):] + [target])
                                     if target in trail else f"import cycle through {target}")
            if target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_reader_finds_the_imports_it_judges():
    """Relative imports at every depth are found, so an upward one cannot slip through;
    an import made only for type checking is not one."""
    assert "service" not in imports_of(PACKAGE / "operations.py")
    assert {"models", "auth"} <= imports_of(PACKAGE / "operations.py")
    assert "runners.base" in imports_of(PACKAGE / "runners" / "local.py")
    assert "engine" in imports_of(PACKAGE / "service.py")
    assert {"auth", "dialects", "operations"} <= imports_of(PACKAGE / "http_app.py")


def test_the_contributors_map_names_every_module():
    """docs/architecture.md is the newcomers' map: a module it does not name is missing from it."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    tops = {module_name(path).split(".")[0] for path in SOURCES} - {"__init__", "__main__"}
    missing = sorted(top for top in tops
                     if f"`{top}.py`" not in text and f"`{top}/`" not in text and f"`{top}/__init__.py`" not in text)
    assert missing == [], f"docs/architecture.md does not name: {missing}"
