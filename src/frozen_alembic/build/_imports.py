"""What the migrations import, found the way a freezer would need it spelled out.

A freezer follows the imports of the application's own code, but Alembic loads the
revision files (and ``env.py``) by path at run time, so nothing they import is
seen.  :func:`scan_imports` reads them with :mod:`ast` — never running them — and
follows every import the way Python would resolve it:

* ``import a.b.c`` needs ``a``, ``a.b`` and ``a.b.c``;
* ``from pkg import name`` needs ``pkg``, and ``pkg.name`` too when that is a module
  (``from ledgerly import _helpers``), which no freezer infers from the text;
* ``from . import x`` and ``from .m import y`` in the application's modules resolve
  against their package;
* ``importlib.import_module("a.b")`` and ``__import__("a.b")`` with a literal name;
* imports inside functions, ``if`` blocks and ``try`` blocks count too (one inside a
  ``try`` that catches ``ImportError`` is *optional*: it may be missing).

The application's own modules that the scripts import are read too, transitively,
so a helper module that imports another helper is found.  Modules are located with
the import system's finders without executing any package (no ``__init__.py``
runs at build time).  A module the build interpreter cannot find is reported with
the file and line that imports it.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

# Libraries whose imports the build helpers list themselves (their dynamic imports
# are in DYNAMIC_IMPORTS and the freezer options): not followed as application code.
_LIBRARIES = frozenset({"frozen_alembic", "alembic", "sqlalchemy", "mako", "typing_extensions"})
_OPTIONAL_HANDLERS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


@dataclass(frozen=True)
class ImportSite:
    """One place that imports a module.

    :ivar module: the module's full dotted name.
    :ivar file: the file that imports it.
    :ivar line: the line of the import.
    :ivar optional: inside a ``try`` that catches ``ImportError``.
    """

    module: str
    file: Path
    line: int
    optional: bool = False

    def __str__(self) -> str:
        return f"{self.module} ({self.file}:{self.line})"


@dataclass
class ImportScan:
    """What :func:`scan_imports` found.

    :ivar modules: every module the scripts need at run time (parents included).
    :ivar app_modules: those that belong to the application (read transitively).
    :ivar missing: imports the build interpreter cannot resolve, required ones.
    :ivar optional_missing: imports inside ``try/except ImportError`` it cannot resolve.
    :ivar problems: imports that cannot work in a revision (e.g. relative ones).
    """

    modules: set[str] = field(default_factory=set)
    app_modules: set[str] = field(default_factory=set)
    missing: list[ImportSite] = field(default_factory=list)
    optional_missing: list[ImportSite] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __contains__(self, module: object) -> bool:
        return module in self.modules


def _library_roots() -> list[str]:
    """Folders whose modules are the Python installation's, not the application's."""
    roots = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if key in paths:
            roots.add(os.path.realpath(paths[key]))
    roots.update(os.path.realpath(p) for p in (sys.base_prefix, sys.prefix) if p)
    return sorted(roots)


def find_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """Locate ``name`` without importing (executing) any of its packages.

    Falls back to :func:`importlib.util.find_spec` (which imports the parents) only
    for modules that the path-based finders cannot see (e.g. provided by a meta path
    hook), where there is no other way.
    """
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None
    for index in range(1, len(parts)):
        if spec is None:
            return None
        locations = spec.submodule_search_locations
        if locations is None:  # a plain module has no submodules
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: index + 1]), locations)
    if spec is None and len(parts) > 1:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
    return spec


def _is_optional(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    current = node
    while current in parents:
        parent = parents[current]
        if isinstance(parent, ast.Try) and current in parent.body:
            for handler in parent.handlers:
                names = _handler_names(handler.type)
                if handler.type is None or names & _OPTIONAL_HANDLERS:
                    return True
        current = parent
    return False


def _handler_names(node: ast.expr | None) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, ast.Tuple):
        return set().union(*(_handler_names(e) for e in node.elts))
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Attribute):
        return {node.attr}
    return set()


def _resolve_relative(package: str | None, level: int, module: str | None) -> str | None:
    if not package:
        return None
    parts = package.split(".")
    if level > len(parts):
        return None
    base = ".".join(parts[: len(parts) - level + 1])
    return f"{base}.{module}" if module else base


def _literal_import(node: ast.Call) -> str | None:
    """The module of ``importlib.import_module("x")`` or ``__import__("x")``, if literal."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def _sites(file: Path, package: str | None) -> tuple[list[tuple[str, ImportSite]], list[str]]:
    """The imports of one file: ``(kind, site)`` pairs and problems.

    ``kind`` is ``"module"`` for a module that must exist, or ``"maybe"`` for
    ``from pkg import name``'s ``pkg.name``, which may be an attribute instead.
    """
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    except (OSError, SyntaxError, UnicodeDecodeError) as err:
        return [], [f"{file} cannot be read: {err}"]
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[str, ImportSite]] = []
    problems: list[str] = []

    def add(kind: str, module: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        found.append((kind, ImportSite(module, file, line, _is_optional(node, parents))))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add("module", alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve_relative(package, node.level, node.module)
                if base is None:
                    problems.append(
                        f"{file}:{node.lineno}: a relative import, which cannot work in a file "
                        "Alembic loads by path; import the module by its full name"
                    )
                    continue
            else:
                base = node.module or ""
            add("module", base, node)
            for alias in node.names:
                if alias.name != "*":
                    add("maybe", f"{base}.{alias.name}", node)
        elif isinstance(node, ast.Call):
            literal = _literal_import(node)
            if literal is not None and not literal.startswith("."):
                add("module", literal, node)
    return found, problems


def _app_file(spec: importlib.machinery.ModuleSpec, roots: list[str]) -> Path | None:
    """The source file of an application module (not the Python installation's)."""
    origin = spec.origin
    if not origin or not spec.has_location or not origin.endswith(".py"):
        return None
    real = os.path.realpath(origin)
    if any(real == root or real.startswith(root + os.sep) for root in roots):
        return None
    return Path(origin)


def scan_imports(script_location: str | os.PathLike[str]) -> ImportScan:
    """Every module the migrations in ``script_location`` need, and what is missing.

    Reads ``env.py`` and every revision file, and the application modules they
    import, transitively; never runs any of them.

    :param script_location: the Alembic script directory in the source tree.
    :return: an :class:`ImportScan`.
    """
    folder = Path(script_location)
    roots = _library_roots()
    scan = ImportScan()
    todo: list[tuple[Path, str | None]] = [
        (file, None)
        for file in [folder / "env.py", *sorted((folder / "versions").glob("*.py"))]
        if file.is_file()
    ]
    read: set[Path] = set()
    while todo:
        file, package = todo.pop(0)
        if file in read:
            continue
        read.add(file)
        sites, problems = _sites(file, package)
        scan.problems.extend(problems)
        for kind, site in sites:
            _take(scan, kind, site, roots, todo)
    scan.missing.sort(key=lambda s: (s.module, str(s.file), s.line))
    scan.optional_missing.sort(key=lambda s: (s.module, str(s.file), s.line))
    return scan


def _take(
    scan: ImportScan,
    kind: str,
    site: ImportSite,
    roots: list[str],
    todo: list[tuple[Path, str | None]],
) -> None:
    name = site.module
    if name in scan.modules:
        return
    spec = find_spec(name)
    if spec is None:
        if kind == "maybe":
            return  # ``from pkg import name``: an attribute of pkg, not a module
        (scan.optional_missing if site.optional else scan.missing).append(site)
        return
    parts = name.split(".")
    scan.modules.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    if parts[0] in _LIBRARIES:
        return
    app_file = _app_file(spec, roots)
    if app_file is not None:
        scan.app_modules.add(name)
        is_package = spec.submodule_search_locations is not None
        package = name if is_package else name.rpartition(".")[0] or None
        todo.append((app_file, package))
