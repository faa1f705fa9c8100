"""The dependency rule of docs/architecture.md, read from the source (no Django needed).

Layers, top to bottom: `config` wires things; the domain apps; `notifications`, `tenancy`,
`audit` (each may use the ones after it); `core`, which imports no project package. Between
domain apps, models are shared freely and the surface (api, admin, urls, views, tasks,
commands, demo, app configs) may compose any app's services, but one app's services use another
app's services only downwards: phone → vendista → tasks_app → planning → inventory, reports →
payments → kiosk.
`sandboxes` stand outside the product: they use `core` only, and only the demo seeding uses
them. No import circle anywhere, lazy imports included.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CORE = "core"
FOUNDATION = ("core", "audit", "tenancy", "notifications")  # bottom first
DOMAIN_ORDERS = (
    ("inventory", "planning", "tasks_app", "vendista", "phone"),  # bottom first
    ("kiosk", "payments", "reports"),
)
DOMAIN = tuple(app for order in DOMAIN_ORDERS for app in order)
TOP = ("config", "celery_app")
SANDBOXES = "sandboxes"
PACKAGES = (*FOUNDATION, *DOMAIN, *TOP, SANDBOXES)
SURFACE_PARTS = {"api", "admin", "urls", "views", "tasks", "apps", "demo", "management", "schema"}
MAX_LINES = 600


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the project's packages (migrations left out), by dotted name."""
    files: dict[str, Path] = {}
    for package in PACKAGES:
        if (root / f"{package}.py").is_file():
            files[package] = root / f"{package}.py"
        for path in sorted((root / package).rglob("*.py")) if (root / package).is_dir() else []:
            if "migrations" not in path.parts:
                files[module_name(path, root)] = path
    return files


def _resolve(name: str, modules: Iterable[str]) -> str | None:
    known = set(modules)
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, source: str, modules: Iterable[str], *, is_package: bool) -> set[str]:
    """Project modules `source` imports, wherever the import statement stands."""
    known = set(modules)
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if target := _resolve(alias.name, known):
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base_name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                base_name = node.module or ""
            for alias in node.names:
                full = f"{base_name}.{alias.name}"
                target = full if full in known else _resolve(base_name, known)
                if target:
                    found.add(target)
    found.discard(module)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = product_files(root)
    return {
        name: imports_of(name, path.read_text(), files, is_package=path.name == "__init__.py")
        for name, path in files.items()
    }


def app_of(module: str) -> str:
    return module.split(".")[0]


def is_surface(module: str) -> bool:
    return bool(SURFACE_PARTS & set(module.split(".")[1:]))


def is_models(module: str) -> bool:
    return module.split(".")[1:2] == ["models"]


def _domain_rank(app: str) -> tuple[int, int]:
    for family, order in enumerate(DOMAIN_ORDERS):
        if app in order:
            return family, order.index(app)
    raise KeyError(app)


def edge_violation(source: str, target: str) -> str | None:
    """Why `source` may not import `target`, or None when the rule allows it."""
    src, dst = app_of(source), app_of(target)
    if src == dst or src in TOP:
        return None
    if dst in TOP:
        return f"{source} imports {target}: nothing outside config imports config or celery_app"
    if src == SANDBOXES:
        return None if dst == CORE else f"{source} imports {target}: sandboxes use core only"
    if dst == SANDBOXES:
        if "demo" in source.split("."):
            return None
        return f"{source} imports {target}: only the demo seeding uses the sandboxes"
    if src in FOUNDATION:
        if dst in FOUNDATION and FOUNDATION.index(dst) < FOUNDATION.index(src):
            return None
        return (
            f"{source} imports {target}: {src} may use only {FOUNDATION[: FOUNDATION.index(src)]}"
        )
    # src is a domain app
    if dst in FOUNDATION or is_models(target):
        return None
    if is_models(source):
        return f"{source} imports {target}: models import other apps' models only"
    if is_surface(source):
        return None
    (src_family, src_rank), (dst_family, dst_rank) = _domain_rank(src), _domain_rank(dst)
    if src_family == dst_family and dst_rank < src_rank:
        return None
    return f"{source} imports {target}: {src}'s services may not use {dst}'s (imports point down)"


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def violations(graph: Mapping[str, set[str]]) -> list[str]:
    problems = [
        reason
        for source, targets in sorted(graph.items())
        for target in sorted(targets)
        if (reason := edge_violation(source, target))
    ]
    problems += [f"import circle: {' ↔ '.join(component)}" for component in cycles(graph)]
    return problems


# --- the rule holds for the code ---------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_every_package_of_the_layout_is_read(graph) -> None:
    apps = {app_of(module) for module in graph}
    assert apps >= {*FOUNDATION, *DOMAIN, "config", "celery_app"}
    assert "vendista.services.runs" in graph and "core.clock" in graph
    # The reader resolves `from package import module` to the module.
    assert "vendista.services.accounts" in graph["vendista.tasks"]


def test_imports_point_down_and_never_circle(graph) -> None:
    problems = violations(graph)
    assert not problems, "dependency rule broken:\n" + "\n".join(problems)


def test_core_imports_no_project_package(graph) -> None:
    outside = {
        (module, target)
        for module, targets in graph.items()
        if app_of(module) == CORE
        for target in targets
        if app_of(target) != CORE
    }
    assert not outside


def test_no_product_module_is_longer_than_the_limit() -> None:
    long = {
        name: lines
        for name, path in product_files().items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them into a package): {long}"


def test_code_cites_no_issue_numbers_or_spec_paragraphs() -> None:
    # History belongs in commits and docs; code says why, in its own words.
    pattern = re.compile(r"\bissues? \d+\b|§", re.IGNORECASE)
    cited = {
        name: match.group(0)
        for name, path in product_files().items()
        if (match := pattern.search(path.read_text()))
    }
    assert not cited


def test_each_app_routes_its_own_views_and_config_includes_each_once(graph) -> None:
    urls = (ROOT / "config" / "urls.py").read_text()
    for app in (*FOUNDATION, *DOMAIN):
        has_urls = (ROOT / app / "urls.py").is_file()
        included = urls.count(f'include("{app}.urls")')
        assert included == (1 if has_urls else 0), app
        if has_urls:
            foreign = {
                target
                for target in graph[f"{app}.urls"]
                if app_of(target) in DOMAIN and app_of(target) != app
            }
            assert not foreign, f"{app}/urls.py routes another app's views: {foreign}"


# --- the checker itself catches what it must ---------------------------------------------------


@dataclass(frozen=True)
class Case:
    source: str
    target: str
    allowed: bool


CASES = [
    Case("vendista.services.runs", "config.settings", False),
    Case("notifications.services", "tasks_app.models", False),
    Case("core.redis", "tenancy.models", False),
    Case("audit.services", "tenancy.models", False),
    Case("tenancy.views", "audit.services", True),
    Case("notifications.services", "tenancy.models", True),
    Case("inventory.services", "tasks_app.services", False),
    Case("tasks_app.services", "inventory.services", True),
    Case("kiosk.services", "payments.services", False),
    Case("payments.services", "kiosk.models", True),
    Case("inventory.api", "tasks_app.services", True),
    Case("inventory.models", "vendista.models", True),
    Case("inventory.models", "vendista.services.runs", False),
    Case("vendista.pipeline", "kiosk.services", False),
    Case("vendista.services.runs", "sandboxes.vendista", False),
    Case("vendista.demo", "sandboxes.vendista", True),
    Case("sandboxes.vendista.data", "core.clock", True),
    Case("sandboxes.telegram", "notifications.models", False),
    Case("config.urls", "vendista.urls", True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.source}->{c.target}")
def test_edge_rule(case: Case) -> None:
    assert (edge_violation(case.source, case.target) is None) is case.allowed


def test_a_new_circle_is_found_also_through_a_lazy_import(tmp_path: Path) -> None:
    (tmp_path / "kiosk").mkdir()
    (tmp_path / "kiosk" / "__init__.py").write_text("")
    (tmp_path / "kiosk" / "services.py").write_text(
        "def expire():\n    from kiosk.tasks import sweep  # lazy\n"
    )
    (tmp_path / "kiosk" / "tasks.py").write_text("from kiosk import services\n")
    graph = import_graph(tmp_path)
    assert graph["kiosk.tasks"] == {"kiosk.services"}
    assert cycles(graph) == [["kiosk.services", "kiosk.tasks"]]
    assert any("circle" in problem for problem in violations(graph))
