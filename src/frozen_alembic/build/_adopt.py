"""``frozen-alembic adopt``: what of an existing Alembic project carries over, and how.

:func:`adopt` reads a project the way ``alembic`` would find it — ``alembic.ini`` (and
``pyproject.toml``'s ``[tool.alembic]``), ``env.py`` and ``versions/`` — without running
any of it: the ini with :mod:`configparser` (``%(here)s`` interpolated as Alembic does),
the Python files with :mod:`ast`, the imports with :func:`scan_imports`.  It says what
carries over, what does not (and whether that needs a change before the migrations can
run under frozen-alembic), and gives the code to paste: the ``Migrator`` and start-up
calls, the build lines for each freezer, and the lines of the app to delete.

Whether ``env.py`` must run (``Migrator(run_env_py=True)``) is decided from what it
does that a migration needs: ``on_version_apply``, event listeners, statements or SQL
functions on the connection, values handed to the revisions.  The options Alembic's
autogenerate reads (``target_metadata``, ``render_as_batch``, ``include_object``,
``compare_type``, ...) are not among them: ``alembic revision --autogenerate`` keeps
reading them in development, and a migration never does.  The findings about an
``env.py`` that frozen-alembic does not run (an ``-x`` argument, an unguarded
``fileConfig``, a URL of its own) are reported, but only block when it must run.
"""

from __future__ import annotations

import ast
import configparser
import importlib
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ._imports import ImportScan, ImportSite, _sites, find_spec, scan_imports
from ._stage import BuildError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["AdoptReport", "Finding", "adopt"]

# context.configure() options only autogenerate (and `alembic revision`) read.
AUTOGENERATE = frozenset(
    {
        "target_metadata",
        "render_as_batch",
        "include_name",
        "include_object",
        "include_schemas",
        "include_symbol",
        "process_revision_directives",
        "compare_type",
        "compare_server_default",
        "render_item",
        "upgrade_token",
        "downgrade_token",
        "alembic_module_prefix",
        "sqlalchemy_module_prefix",
        "user_module_prefix",
        "template_args",
        "autogenerate_plugins",
    }
)
# Options of the offline (SQL script) mode, which frozen-alembic never uses.
OFFLINE = frozenset(
    {
        "url",
        "dialect_name",
        "dialect_opts",
        "literal_binds",
        "as_sql",
        "output_buffer",
        "output_encoding",
        "starting_rev",
        "tag",
    }
)
# Options a migration needs at run time, which only a running env.py passes on.
RUN_TIME = frozenset({"on_version_apply", "version_table_pk"})
LOGGING_CALLS = {
    "logging.config.fileConfig": "fileConfig",
    "logging.config.dictConfig": "dictConfig",
    "logging.basicConfig": "basicConfig",
}
LOGGING_SECTIONS = ("loggers", "handlers", "formatters")
# Not the app's code: where the lines that call Alembic are looked for (virtual
# environments are recognised by their pyvenv.cfg).
SKIPPED_DIRS = frozenset({"build", "dist", "node_modules", "site-packages", "tests", "test"})
ON_GIVEN = '(on the connection env.py is given, config.attributes["connection"], not its own)'
MAX_APP_FILES = 5000
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
WIDTH = 92  # the printed report's lines of prose


@dataclass(frozen=True)
class Finding:
    """One thing :func:`adopt` found.

    :ivar kind: what it is about: ``ini``, ``layout``, ``logging``, ``option``,
        ``x-argument``, ``engine``, ``env``, ``module``, ``revision``, ``anchor`` or
        ``app`` (a line of the application to delete).
    :ivar subject: the setting, call or module, as written.
    :ivar text: what frozen-alembic does with it.
    :ivar where: the file (relative to the project) and line, if any.
    :ivar fix: the change to make (code or a sentence), if any.
    :ivar must_change: the migrations cannot run under frozen-alembic until it changes.
    """

    kind: str
    subject: str
    text: str
    where: str = ""
    fix: str = ""
    must_change: bool = False

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{where}{self.subject}: {self.text}"


@dataclass
class AdoptReport:
    """What :func:`adopt` found, for people (``str(report)``) and for code.

    :ivar project: the project's root: the ini's folder or, without an ini, the folder
        above the script directory holding ``pyproject.toml`` (or ``setup.py``, ...).
    :ivar ini: the ``alembic.ini`` read, if any.
    :ivar script_location: the Alembic script directory.
    :ivar target: the bundled folder's name (the script directory's name).
    :ivar anchor: the application's top-level package, if one was found.
    :ivar run_env_py: whether ``env.py`` must run (``Migrator(run_env_py=True)``).
    :ivar version_table: the version table ``env.py`` names (its source text when
        computed), ``None`` for Alembic's default.
    :ivar options: ``env.py``'s online ``context.configure`` keywords and the source
        text of their values.
    :ivar offline_options: the same for the offline mode, which never runs.
    :ivar x_arguments: the ``-x`` keys ``env.py`` and the revisions read.
    :ivar engine: how ``env.py`` connects (``engine_from_config``,
        ``config.attributes["connection"]``, ``create_engine(...)``, ...).
    :ivar app_modules: the application's modules the migrations import.
    :ivar missing: imports this Python cannot resolve (file and line).
    :ivar carries_over: what works as it is.
    :ivar wont_carry_over: what does not; ``must_change`` marks what blocks.
    :ivar paste: ``(title, code)`` pairs: the code to paste.
    :ivar delete: the application's lines that call Alembic the old way.
    """

    project: Path
    ini: Path | None
    script_location: Path
    target: str
    anchor: str | None = None
    run_env_py: bool = False
    version_table: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    offline_options: dict[str, str] = field(default_factory=dict)
    x_arguments: list[str] = field(default_factory=list)
    engine: list[str] = field(default_factory=list)
    app_modules: list[str] = field(default_factory=list)
    missing: list[ImportSite] = field(default_factory=list)
    carries_over: list[Finding] = field(default_factory=list)
    wont_carry_over: list[Finding] = field(default_factory=list)
    paste: list[tuple[str, str]] = field(default_factory=list)
    delete: list[Finding] = field(default_factory=list)

    @property
    def must_change(self) -> list[Finding]:
        """The findings that must change before the migrations run under frozen-alembic."""
        return [f for f in self.wont_carry_over if f.must_change]

    @property
    def ok(self) -> bool:
        """Whether the project carries over as it is (the command's exit code 0)."""
        return not self.must_change

    def findings(self, kind: str) -> list[Finding]:
        """Every finding of one ``kind``, carried over or not."""
        return [f for f in [*self.carries_over, *self.wont_carry_over] if f.kind == kind]

    def __str__(self) -> str:
        lines = [f"frozen-alembic adopt {self.project}"]
        lines.append(f"  ini:        {self.ini if self.ini else '(none)'}")
        lines.append(f"  scripts:    {self.script_location}")
        anchor = f'anchor "{self.anchor}"' if self.anchor else "anchor unknown"
        lines.append(
            f'  in the app: folder "{self.target}", {anchor}, run_env_py={self.run_env_py}'
        )
        lines += ["", "Carries over"]
        lines += [_show(f, "+") for f in self.carries_over] or ["  (nothing)"]
        lines += ["", "Won't carry over"]
        ordered = [*self.must_change, *(f for f in self.wont_carry_over if not f.must_change)]
        lines += [_show(f, "!" if f.must_change else "-") for f in ordered] or ["  (nothing)"]
        lines += ["", "To paste"]
        for title, code in self.paste:
            lines += ["", f"  # {title}", _indent(code, 4)]
        lines += ["", "  # delete from the app (ensure_current(document_path) replaces them)"]
        if self.delete:
            lines += [_indent(f"{f.where}  {f.subject}\n  {f.text}", 4) for f in self.delete]
        else:
            lines.append(
                _indent(
                    "no call to Alembic found in the project's own code; wherever the app "
                    "migrates, delete: the change of working directory before migrating, "
                    "alembic.config.main(argv=[...]) / command.upgrade(Config(...), 'head'), "
                    "and every -x dbPath=... it passes",
                    4,
                    wrap=True,
                )
            )
        lines.append("")
        blocking = self.must_change
        if blocking:
            lines.append(
                f"{_count(len(blocking), 'thing')} must change first (marked !), then run "
                "adopt again: exit 1"
            )
        else:
            lines.append("It carries over: paste the code above (exit 0)")
        return "\n".join(lines)


def _indent(text: str, spaces: int, wrap: bool = False) -> str:
    import textwrap

    pad = " " * spaces
    lines: list[str] = []
    for line in text.splitlines():
        if wrap and len(line) + spaces > WIDTH and not line.startswith(" "):
            lines += textwrap.wrap(
                line, WIDTH - spaces, break_long_words=False, break_on_hyphens=False
            )
        else:
            lines.append(line)
    return "\n".join(pad + line if line else line for line in lines)


def _show(finding: Finding, mark: str) -> str:
    where = f"{finding.where}: " if finding.where else ""
    text = f"  {mark} {where}{finding.subject}\n{_indent(finding.text, 6, wrap=True)}"
    if finding.fix:
        label = "change:" if finding.must_change else "to do:"
        text += f"\n      {label}\n{_indent(finding.fix, 8, wrap=True)}"
    return text


# --------------------------------------------------------------------------- the ini


@dataclass
class _Config:
    """What ``alembic.ini`` (and ``pyproject.toml``) say."""

    ini: Path | None
    folder: Path
    section: str
    values: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    toml: dict[str, object] = field(default_factory=dict)
    toml_path: Path | None = None
    logging_sections: list[str] = field(default_factory=list)

    def get(self, key: str) -> str | list[str] | None:
        value = self.toml.get(key)
        if isinstance(value, str):
            return value.replace("%(here)s", str(self.folder))
        if isinstance(value, list):
            return [str(v).replace("%(here)s", str(self.folder)) for v in value]
        return self.values.get(key)

    def written(self, key: str) -> str:
        """The value as the file spells it (``%(here)s`` not interpolated)."""
        value = self.toml.get(key)
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if value is not None:
            return str(value)
        return self.raw.get(key, "")

    def source(self, key: str) -> str:
        if key in self.toml and self.toml_path is not None:
            return f"{self.toml_path.name} [tool.alembic]"
        return self.ini.name if self.ini is not None else "alembic.ini"


def _read_config(ini: Path | None, folder: Path, section: str) -> _Config:
    config = _Config(ini, folder, section)
    if ini is not None:
        # Alembic's own parser: "here" is a default, so %(here)s interpolates.
        parser = configparser.ConfigParser(defaults={"here": str(folder).replace("%", "%%")})
        try:
            parser.read(ini, encoding="utf-8")
        except configparser.Error as err:
            msg = f"{ini} cannot be read: {err}"
            raise BuildError(msg) from err
        if parser.has_section(section):
            for key in parser.options(section):
                if key == "here":
                    continue
                config.raw[key] = parser.get(section, key, raw=True)
                try:
                    config.values[key] = parser.get(section, key)
                except configparser.Error:
                    config.values[key] = parser.get(section, key, raw=True)
        config.logging_sections = [
            name
            for name in parser.sections()
            if name in LOGGING_SECTIONS or name.startswith(("logger_", "handler_", "formatter_"))
        ]
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and sys.version_info >= (3, 11):
        import tomllib

        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            data = {}
        tool = data.get("tool", {})
        table = tool.get("alembic") if isinstance(tool, dict) else None
        if isinstance(table, dict):
            config.toml = dict(table)
            config.toml_path = pyproject
    return config


def _split_paths(value: str | list[str], config: _Config, legacy_colons: bool) -> list[str]:
    """Split a path list the way Alembic does (``path_separator``, or the legacy rules)."""
    if isinstance(value, list):
        return value
    separator = config.values.get("path_separator") or config.values.get("version_path_separator")
    if separator:
        spelled = {"os": os.pathsep, "space": " ", "newline": "\n"}.get(separator, separator)
        if spelled == " ":
            return value.split()
        return [p.strip() for p in value.split(spelled) if p.strip()]
    pattern = r", *|(?: +)|\:" if legacy_colons else r", *|(?: +)"
    return [p for p in re.split(pattern, value) if p.strip()]


def _find_project(
    project_dir: Path, ini: str | os.PathLike[str] | None
) -> tuple[Path | None, Path | None]:
    """``(ini, script directory)``: the ini that names the scripts, or the scripts alone."""
    if ini is None and not project_dir.exists():
        msg = f"{project_dir} does not exist."
        raise BuildError(msg)
    if ini is not None:
        path = Path(ini).resolve()
        if not path.is_file():
            msg = f"There is no ini file at {path}."
            raise BuildError(msg)
        return path, None
    if project_dir.is_file():
        return project_dir.resolve(), None
    if (project_dir / "alembic.ini").is_file():
        return (project_dir / "alembic.ini").resolve(), None
    if (project_dir / "versions").is_dir() or (project_dir / "env.py").is_file():
        scripts = project_dir.resolve()
        for folder in list(scripts.parents)[:3]:  # the project's root, or src/ above it
            if (folder / "alembic.ini").is_file():
                return (folder / "alembic.ini").resolve(), scripts
        return None, scripts
    if (project_dir / "pyproject.toml").is_file():
        return None, None
    msg = (
        f"{project_dir} holds neither an alembic.ini nor an Alembic script directory "
        "(env.py, versions/): give the project's root, the script directory, or --ini PATH."
    )
    raise BuildError(msg)


def _project_root(scripts: Path) -> Path:
    """The root of the project a script directory without an ini belongs to.

    The nearest folder above it with a ``pyproject.toml``, ``setup.py``, ``setup.cfg``
    or ``.git`` (three levels at most: ``src/app/migrations``); else its parent.
    """
    for folder in list(scripts.parents)[:3]:
        if any((folder / name).exists() for name in PROJECT_FILES):
            return folder
    return scripts.parent


@contextmanager
def _on_sys_path(paths: list[Path]) -> Iterator[None]:
    """Alembic's ``prepend_sys_path``, for the time of a scan.

    A scan may import a package to look below it (see :func:`find_spec`): what was
    imported from these folders is forgotten afterwards, so that nothing of the
    project stays in this process.
    """
    saved = list(sys.path)
    before = set(sys.modules)
    folders = [str(p.resolve()) for p in paths]
    sys.path[:0] = folders
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path[:] = saved
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if any(origin.startswith(folder + os.sep) for folder in folders):
                del sys.modules[name]
        importlib.invalidate_caches()


def _resolve_location(value: str, folder: Path) -> tuple[Path | None, str | None]:
    """The script directory of ``script_location`` and, for ``pkg:resource``, ``pkg``."""
    if ":" in value and not os.path.isabs(value):
        package, _, resource = value.partition(":")
        spec = find_spec(package)
        places = list(spec.submodule_search_locations or []) if spec is not None else []
        if not places:
            return None, package
        return Path(places[0]) / resource, package
    path = Path(value)
    return (path if path.is_absolute() else folder / path).resolve(), None


# --------------------------------------------------------------------------- env.py


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


class _Module:
    """One Python file, parsed: its imports, assignments, and helpers to read calls."""

    def __init__(self, path: Path, project: Path) -> None:
        self.path = path
        self.name = _relative(path, project)
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.parents = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }
        self.imports: dict[str, str] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.imports[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        self.assigned: dict[str, ast.expr] = {}  # the first value of each name
        self.online: list[tuple[str, ast.expr]] = []  # every value, outside offline mode
        for node in ast.walk(self.tree):
            pairs: list[tuple[str, ast.expr]] = []
            if isinstance(node, ast.Assign):
                pairs = [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.value is not None
            ):
                pairs = [(node.target.id, node.value)]
            for name, value in pairs:
                self.assigned.setdefault(name, value)
                if not self.offline(node):
                    self.online.append((name, value))

    def calls(self) -> Iterator[tuple[ast.Call, str]]:
        """Every call with its callee's dotted name, import aliases expanded."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                if name:
                    yield node, self.expand(name)

    def expand(self, name: str) -> str:
        head, _, rest = name.partition(".")
        full = self.imports.get(head, head)
        return f"{full}.{rest}" if rest else full

    def where(self, node: ast.AST) -> str:
        return f"{self.name}:{getattr(node, 'lineno', 0)}"

    def function(self, node: ast.AST) -> str | None:
        current = node
        while current in self.parents:
            current = self.parents[current]
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
                return current.name
        return None

    def offline(self, node: ast.AST) -> bool:
        return "offline" in (self.function(node) or "")

    def origin(self, expr: ast.expr, depth: int = 0) -> str:
        """Where a value comes from: ``notekeeper.models.metadata`` for an imported name."""
        if depth < 5:
            if isinstance(expr, ast.Name):
                if expr.id in self.assigned:
                    return self.origin(self.assigned[expr.id], depth + 1)
                if expr.id in self.imports:
                    return self.imports[expr.id]
            elif isinstance(expr, ast.Attribute):
                return f"{self.origin(expr.value, depth + 1)}.{expr.attr}"
        return ast.unparse(expr)

    def sources(self) -> dict[str, set[str]]:
        """What each assigned name is made from: ``x`` (-x), ``environ``, ``url``, ``literal``."""
        found: dict[str, set[str]] = {}
        changed = True
        while changed:
            changed = False
            for name, value in self.online:
                kinds = self.kinds(value, found)
                if not kinds <= found.get(name, set()):
                    found[name] = found.get(name, set()) | kinds
                    changed = True
        return found

    def kinds(self, expr: ast.AST, names: dict[str, set[str]]) -> set[str]:
        kinds: set[str] = set()
        for node in ast.walk(expr):
            if isinstance(node, ast.Name) and node.id in names:
                kinds |= names[node.id]
            elif isinstance(node, ast.Call):
                callee = self.expand(_dotted(node.func) or "")
                last = callee.rpartition(".")[2]
                first = node.args[0] if node.args else None
                key = first.value if isinstance(first, ast.Constant) else None
                if last == "get_x_argument":
                    kinds.add("x")
                elif callee in ("os.getenv", "os.environ.get") or last == "getenv":
                    kinds.add("environ")
                elif (last == "get_main_option" and key == "sqlalchemy.url") or last in (
                    "get_section",
                    "get_section_option",
                ):
                    kinds.add("url")
            elif isinstance(node, ast.Subscript) and self.expand(_dotted(node.value) or "") in (
                "os.environ",
            ):
                kinds.add("environ")
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "://" in node.value
            ):
                kinds.add("literal")
        return kinds


def _relative(path: Path, project: Path) -> str:
    try:
        return path.resolve().relative_to(project).as_posix()
    except ValueError:
        return str(path)


def _x_keys(module: _Module) -> list[tuple[str, ast.AST]]:
    """The ``-x`` keys read (``"?"`` when read as a list), with the node reading each."""
    x_dicts = {
        name
        for name, value in module.assigned.items()
        if isinstance(value, ast.Call) and (_dotted(value.func) or "").endswith("get_x_argument")
    }
    found: list[tuple[str, ast.AST]] = []

    def is_x(node: ast.AST) -> bool:
        if isinstance(node, ast.Call):
            return (_dotted(node.func) or "").endswith("get_x_argument")
        return isinstance(node, ast.Name) and node.id in x_dicts

    for node in ast.walk(module.tree):
        key: object = None
        if isinstance(node, ast.Subscript) and is_x(node.value):
            if isinstance(node.slice, ast.Constant):
                key = node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop", "setdefault")
            and is_x(node.func.value)
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            key = node.args[0].value
        elif (
            isinstance(node, ast.Compare)
            and any(is_x(c) for c in node.comparators)
            and isinstance(node.left, ast.Constant)
        ):
            key = node.left.value
        if isinstance(key, str) and key not in {k for k, _ in found}:
            found.append((key, node))
    if not found:
        for node, callee in module.calls():
            if callee.endswith("get_x_argument"):
                found.append(("?", node))
                break
    return found


def _guarded(module: _Module, node: ast.AST) -> bool:
    """Inside ``if config.config_file_name ...:`` (its body, not its else)."""
    current = node
    while current in module.parents:
        parent = module.parents[current]
        if (
            isinstance(parent, ast.If)
            and current in parent.body
            and "config_file_name" in ast.unparse(parent.test)
        ):
            return True
        current = parent
    return False


@dataclass
class _Env:
    """What ``env.py`` does, read with :mod:`ast`."""

    module: _Module
    must_run: list[Finding] = field(default_factory=list)
    online: list[tuple[str, ast.expr, ast.AST]] = field(default_factory=list)
    offline: list[tuple[str, ast.expr, ast.AST]] = field(default_factory=list)
    offline_function: ast.AST | None = None


def _read_env(module: _Module) -> _Env:
    env = _Env(module)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.FunctionDef) and "offline" in node.name:
            env.offline_function = node
    for node, callee in module.calls():
        last = callee.rpartition(".")[2]
        if last == "configure" and "context" in callee:
            for keyword in node.keywords:
                bucket = env.offline if module.offline(node) else env.online
                if keyword.arg is None:
                    if not module.offline(node):
                        env.must_run.append(
                            Finding(
                                "env",
                                f"context.configure(**{ast.unparse(keyword.value)})",
                                "options computed at run time, which frozen-alembic cannot "
                                "read: env.py must run to pass them on",
                                module.where(node),
                            )
                        )
                    continue
                bucket.append((keyword.arg, keyword.value, keyword))
                if keyword.arg in RUN_TIME and bucket is env.online:
                    env.must_run.append(
                        Finding(
                            "env",
                            f"{keyword.arg}={ast.unparse(keyword.value)}",
                            "used while migrating, and only a running env.py passes it on",
                            module.where(keyword),
                        )
                    )
        elif module.offline(node):
            continue
        elif callee.endswith(("event.listen", "listens_for")) or last == "listens_for":
            env.must_run.append(
                Finding(
                    "env",
                    ast.unparse(node)[:80],
                    f"an event listener the migrations may rely on {ON_GIVEN}",
                    module.where(node),
                )
            )
        elif last in ("execute", "exec_driver_sql") and "foreign_keys" in ast.unparse(node):
            continue  # frozen-alembic handles foreign keys itself (see read_foreign_keys)
        elif last in ("execute", "exec_driver_sql") and not callee.endswith("run_migrations"):
            env.must_run.append(
                Finding(
                    "env",
                    ast.unparse(node)[:80],
                    f"a statement run before the migrations {ON_GIVEN}",
                    module.where(node),
                )
            )
        elif last in ("create_function", "create_collation", "create_aggregate"):
            env.must_run.append(
                Finding(
                    "env",
                    ast.unparse(node)[:80],
                    f"an SQL function or collation the revisions may use {ON_GIVEN}",
                    module.where(node),
                )
            )
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and (_dotted(target.value) or "").endswith("attributes")
                    and not module.offline(node)
                ):
                    env.must_run.append(
                        Finding(
                            "env",
                            ast.unparse(node)[:80],
                            "a value handed to the revisions through config.attributes",
                            module.where(node),
                        )
                    )
    return env


# --------------------------------------------------------------------------- adopt


class _Adoption:
    """Builds one :class:`AdoptReport`."""

    def __init__(self, report: AdoptReport, config: _Config) -> None:
        self.report = report
        self.config = config
        self.project = report.project
        self.env: _Env | None = None
        self.cookbook: ast.expr | None = None
        self.prepend: list[Path] = []
        self.package: str | None = None  # of a ``package:resource`` script_location
        self.connection_fix_at: str | None = None
        self.url_from_x_only = False  # env.py connects to an -x URL, with no fallback

    def ok(self, finding: Finding) -> None:
        self.report.carries_over.append(finding)

    def no(self, finding: Finding) -> None:
        self.report.wont_carry_over.append(finding)

    def env_issue(self, finding: Finding, fix_if_run: str, *, bypassed: bool = False) -> None:
        """A finding in env.py: it blocks only if env.py must run, and reaches it."""
        if bypassed:
            text = (
                f"{finding.text}\n(reached only when env.py is given no connection: "
                'frozen-alembic always gives one, in config.attributes["connection"])'
            )
            self.no(Finding(finding.kind, finding.subject, text, finding.where))
        elif self.report.run_env_py:
            self.no(
                Finding(
                    finding.kind,
                    finding.subject,
                    finding.text,
                    finding.where,
                    fix_if_run,
                    must_change=True,
                )
            )
        else:
            self.no(
                Finding(
                    finding.kind,
                    finding.subject,
                    finding.text + "\n(env.py does not run with run_env_py=False: no harm "
                    "done; should it ever run, make the change below)",
                    finding.where,
                    fix_if_run,
                )
            )

    # ------------------------------------------------------------------ the ini

    def read_ini(self) -> None:
        config = self.config
        report = self.report
        if report.ini is None and config.toml_path is None:
            self.ok(
                Finding(
                    "ini",
                    "no alembic.ini",
                    "nothing to carry over from it: frozen-alembic needs no ini file",
                )
            )
            return
        url = config.get("sqlalchemy.url")
        if isinstance(url, str):
            self.no(
                Finding(
                    "ini",
                    f"sqlalchemy.url = {_masked(config.written('sqlalchemy.url'))}",
                    "not needed: frozen-alembic migrates the document it is given "
                    "(and points sqlalchemy.url at it when env.py runs)",
                    config.source("sqlalchemy.url"),
                )
            )
        if config.logging_sections:
            shown = " ".join(f"[{name}]" for name in config.logging_sections[:3])
            more = len(config.logging_sections) - 3
            self.no(
                Finding(
                    "logging",
                    shown + (f" and {more} more" if more > 0 else ""),
                    "not applied: frozen-alembic never configures logging, the app owns it",
                    report.ini.name if report.ini else "alembic.ini",
                    "to see Alembic's messages, set them up in the app: "
                    'logging.getLogger("alembic").setLevel(logging.INFO)',
                )
            )
        template = config.get("file_template")
        if isinstance(template, str):
            self.ok(
                Finding(
                    "ini",
                    f"file_template = {config.written('file_template')}",
                    "harmless: it only names new revision files; frozen-alembic reads every "
                    "file in versions/ whatever its name",
                    config.source("file_template"),
                )
            )
        for key in ("sourceless",):
            value = config.get(key)
            if isinstance(value, str):
                self.ok(
                    Finding(
                        "ini",
                        f"{key} = {value}",
                        "found automatically: revisions shipped as .pyc only are applied",
                        config.source(key),
                    )
                )
        recursive = config.get("recursive_version_locations")
        if isinstance(recursive, str) and recursive.strip().lower() in ("true", "1", "yes"):
            self.no(
                Finding(
                    "layout",
                    f"recursive_version_locations = {recursive}",
                    "frozen-alembic reads the revisions in versions/ itself, not in its subfolders",
                    config.source("recursive_version_locations"),
                    "move the revision files of versions/'s subfolders up into versions/ "
                    "(their ids do not change) and remove the option",
                    must_change=self.nested_revisions(),
                )
            )

    def nested_revisions(self) -> bool:
        versions = self.report.script_location / "versions"
        return any(
            p.parent != versions and "__pycache__" not in p.parts for p in versions.rglob("*.py")
        )

    def read_version_locations(self) -> None:
        config = self.config
        value = config.get("version_locations")
        if value is None:
            return
        folders = [
            (Path(p) if Path(p).is_absolute() else config.folder / p).resolve()
            for p in _split_paths(value, config, legacy_colons=False)
        ]
        versions = (self.report.script_location / "versions").resolve()
        shown = config.written("version_locations")
        where = config.source("version_locations")
        if folders == [versions]:
            self.ok(
                Finding(
                    "layout",
                    f"version_locations = {shown}",
                    "the script directory's own versions/: what frozen-alembic reads",
                    where,
                )
            )
            return
        others = [_relative(f, self.project) for f in folders if f != versions]
        self.no(
            Finding(
                "layout",
                f"version_locations = {shown}",
                f"{len(folders)} folder(s) of revisions: frozen-alembic reads one script "
                "directory, the revisions in its versions/ folder, and bundles that folder only",
                where,
                f"move the revision files of {', '.join(others)} into "
                f"{_relative(versions, self.project)}/ (their revision ids, and so every "
                "document's version, do not change) and delete version_locations",
                must_change=True,
            )
        )

    def read_prepend(self) -> None:
        value = self.config.get("prepend_sys_path")
        if value is None:
            return
        parts = _split_paths(value, self.config, legacy_colons=True)
        self.prepend = [
            (Path(p) if Path(p).is_absolute() else self.config.folder / p).resolve() for p in parts
        ]

    # ------------------------------------------------------------------ env.py

    def read_env(self) -> None:
        env_py = self.report.script_location / "env.py"
        if not env_py.is_file():
            self.ok(Finding("env", "no env.py", "frozen-alembic needs none"))
            return
        try:
            module = _Module(env_py, self.project)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as err:
            self.no(
                Finding(
                    "env",
                    "env.py",
                    f"cannot be read: {err}",
                    _relative(env_py, self.project),
                    "fix env.py",
                    must_change=True,
                )
            )
            return
        env = self.env = _read_env(module)
        self.report.run_env_py = bool(env.must_run)
        for finding in env.must_run:
            self.ok(
                Finding(
                    finding.kind,
                    finding.subject,
                    finding.text + ": carried over with Migrator(..., run_env_py=True), "
                    "which runs env.py on frozen-alembic's connection",
                    finding.where,
                )
            )
        self.find_cookbook(module)
        self.read_logging(module)
        self.read_foreign_keys(module)
        self.read_options(env)
        self.read_engine(module)
        self.read_x_arguments(module, in_env=True)

    def connection_fix(self, where: str) -> str:
        """The change that makes env.py migrate on frozen-alembic's connection (said once)."""
        if self.connection_fix_at is not None:
            return (
                f"take frozen-alembic's connection first: the change given for "
                f"{self.connection_fix_at}"
            )
        self.connection_fix_at = where
        skip = {"connection", "url", "transaction_per_migration", *OFFLINE}
        options = ["connection=connection"] + [
            f"{name}={source}" for name, source in self.report.options.items() if name not in skip
        ]
        call = f"context.configure({', '.join(options)})"
        if len(call) > 80:
            call = "context.configure(\n" + "".join(f"        {o},\n" for o in options) + "    )"
        return (
            "take frozen-alembic's connection first: at the start of "
            "run_migrations_online() add\n"
            'connection = config.attributes.get("connection")\n'
            "if connection is not None:  # frozen-alembic (or any caller sharing a connection)\n"
            f"    {call}\n"
            "    with context.begin_transaction():\n"
            "        context.run_migrations()\n"
            "    return"
        )

    def read_foreign_keys(self, module: _Module) -> None:
        for node, callee in module.calls():
            last = callee.rpartition(".")[2]
            if (
                last in ("execute", "exec_driver_sql")
                and "foreign_keys" in ast.unparse(node)
                and not module.offline(node)
            ):
                self.no(
                    Finding(
                        "env",
                        ast.unparse(node)[:80],
                        "no effect: frozen-alembic switches foreign keys off before its "
                        "transaction (a batch recreate of a parent keeps its children) and "
                        "runs PRAGMA foreign_key_check before the commit",
                        module.where(node),
                    )
                )

    def read_logging(self, module: _Module) -> None:
        found = False
        for node, callee in module.calls():
            short = LOGGING_CALLS.get(callee)
            if short is None:
                continue
            found = True
            call = ast.unparse(node)
            where = module.where(node)
            if _guarded(module, node):
                self.ok(
                    Finding(
                        "logging",
                        call,
                        "guarded by `if config.config_file_name ...`: frozen-alembic's "
                        "configuration has no file, so it is skipped and the app's logging "
                        "stays as the app set it",
                        where,
                    )
                )
                continue
            first = node.args[0] if node.args else None
            if short == "fileConfig" and isinstance(first, ast.Constant):
                text = (
                    f"reads {first.value!r} from the working directory: in the app it is "
                    "not there (env.py fails), or it replaces the app's logging"
                )
            elif short == "fileConfig":
                text = (
                    "not guarded: frozen-alembic's configuration has no file "
                    "(config.config_file_name is None), so this raises"
                )
            else:
                text = "configures the app's logging every time a document migrates"
            self.env_issue(
                Finding("logging", call, text, where),
                "delete it (the app owns logging), or put it under the stock template's "
                "guard, which is never true under frozen-alembic (there is no file):\n"
                "if config.config_file_name is not None:",
            )
        if not found:
            self.ok(
                Finding(
                    "logging",
                    "no fileConfig in env.py",
                    "the app's logging is left alone",
                    module.name,
                )
            )

    def read_options(self, env: _Env) -> None:
        report = self.report
        module = env.module
        seen: set[str] = set()
        for name, value, node in env.online:
            report.options.setdefault(name, ast.unparse(value))
            if name in seen:
                continue
            seen.add(name)
            self.option(module, name, value, node)
        for name, value, _node in env.offline:
            report.offline_options.setdefault(name, ast.unparse(value))
        if env.offline_function is not None:
            names = ", ".join(report.offline_options) or "none"
            self.no(
                Finding(
                    "option",
                    "run_migrations_offline()",
                    "the offline (SQL script) mode: frozen-alembic always migrates a live "
                    f"document, so it never runs (its options: {names})",
                    module.where(env.offline_function),
                )
            )

    def option(self, module: _Module, name: str, value: ast.expr, node: ast.AST) -> None:
        shown = f"{name}={ast.unparse(value)}"
        where = module.where(node)
        if name == "connection":
            return  # how env.py connects: see read_engine
        if name == "version_table":
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                self.report.version_table = value.value
                self.ok(
                    Finding(
                        "option",
                        shown,
                        "found automatically (Migrator reads the literal in env.py; a build "
                        "records it in its manifest): no version_table= needed",
                        where,
                    )
                )
            else:
                self.report.version_table = ast.unparse(value)
                self.no(
                    Finding(
                        "option",
                        shown,
                        "computed, so frozen-alembic cannot see its value",
                        where,
                        f'pass it: Migrator(..., version_table="<the value of '
                        f'{ast.unparse(value)}>"), and the same to ensure_current()',
                        must_change=True,
                    )
                )
        elif name == "version_table_schema":
            self.no(
                Finding(
                    "option",
                    shown,
                    "frozen-alembic reads the version table in the document's main schema",
                    where,
                    "remove version_table_schema (a document keeps its version table in "
                    "its main schema)",
                    must_change=True,
                )
            )
        elif name in AUTOGENERATE:
            self.ok(Finding("option", shown, _autogenerate_text(name, module.origin(value)), where))
        elif name == "transaction_per_migration":
            self.no(
                Finding(
                    "option",
                    shown,
                    "ignored: frozen-alembic applies every pending revision of a call in one "
                    "transaction (all or nothing)",
                    where,
                )
            )
        elif name == "transactional_ddl":
            self.no(
                Finding(
                    "option",
                    shown,
                    "no effect: frozen-alembic runs the DDL inside its own transaction",
                    where,
                )
            )
        elif name in OFFLINE:
            self.no(
                Finding(
                    "option",
                    shown,
                    "ignored: an option of the offline (SQL script) mode, or a URL; "
                    "frozen-alembic migrates on its own connection",
                    where,
                )
            )
        elif name in RUN_TIME:
            pass  # already said: env.py must run for it
        else:
            self.no(
                Finding(
                    "option",
                    shown,
                    "passed on to Alembic only when env.py runs (run_env_py=True)",
                    where,
                    "check whether the migrations need it; if they do, use "
                    "Migrator(..., run_env_py=True)",
                )
            )

    def read_x_arguments(self, module: _Module, *, in_env: bool) -> None:
        for key, node in _x_keys(module):
            if key not in self.report.x_arguments:
                self.report.x_arguments.append(key)
            shown = f"-x {key}" if key != "?" else "-x (read as a list)"
            where = module.where(node)
            text = (
                "frozen-alembic passes the document itself "
                "(ensure_current(path), migrator.upgrade(path)) and no -x arguments: "
                "context.get_x_argument() gives nothing"
            )
            delete = (
                f"delete `-x {key}=...` from every command that runs alembic in the app"
                if key != "?"
                else "delete the -x arguments from every command that runs alembic"
            )
            soft = not isinstance(node, ast.Subscript) and not self.url_from_x_only
            if in_env and soft and not self.bypassed(module, node):
                self.no(
                    Finding(
                        "x-argument",
                        shown,
                        text + "\n(read with a default, and no URL depends on it alone: "
                        "without -x, env.py goes on as it is, with sqlalchemy.url, which "
                        "frozen-alembic points at the document)",
                        where,
                        delete,
                    )
                )
            elif in_env:
                bypassed = self.bypassed(module, node)
                self.env_issue(
                    Finding("x-argument", shown, text, where),
                    "" if bypassed else f"{delete}; and in env.py {self.connection_fix(where)}",
                    bypassed=bypassed,
                )
            else:
                self.no(
                    Finding(
                        "x-argument",
                        shown,
                        text + "; this revision runs with or without env.py",
                        where,
                        f"{delete}; the revision must not depend on it: read what it needs "
                        "from the document (op.get_bind()) or write the value into the revision",
                        must_change=True,
                    )
                )

    def find_cookbook(self, module: _Module) -> None:
        """Where env.py takes the connection it is given (the cookbook's recipe), if it does."""
        for node in ast.walk(module.tree):
            if module.offline(node):
                continue
            key = None
            if isinstance(node, ast.Subscript) and (_dotted(node.value) or "").endswith(
                "attributes"
            ):
                key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and (_dotted(node.func.value) or "").endswith("attributes")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                key = node.args[0].value
            if (
                key == "connection"
                and isinstance(node, ast.expr)
                and (self.cookbook is None or node.lineno < self.cookbook.lineno)
            ):
                self.cookbook = node
        if self.cookbook is not None:
            self.report.engine.append('config.attributes["connection"]')
            self.ok(
                Finding(
                    "engine",
                    'config.attributes["connection"]',
                    "the cookbook's shared connection: frozen-alembic hands its own "
                    "connection in there, inside its transaction",
                    module.where(self.cookbook),
                )
            )

    def bypassed(self, module: _Module, node: ast.AST) -> bool:
        """Whether ``node`` comes after env.py took the connection it was given."""
        given = self.cookbook
        return (
            given is not None
            and module.function(given) is not None
            and module.function(given) == module.function(node)
            and given.lineno < getattr(node, "lineno", 0)
        )

    def read_engine(self, module: _Module) -> None:
        report = self.report
        sources = module.sources()
        for node, callee in module.calls():
            last = callee.rpartition(".")[2]
            where = module.where(node)
            bypassed = self.bypassed(module, node)
            if module.offline(node):
                continue
            if last == "engine_from_config":
                report.engine.append("engine_from_config")
                self.ok(
                    Finding(
                        "engine",
                        "engine_from_config(config.get_section(...), prefix='sqlalchemy.')",
                        "Alembic's stock engine, from sqlalchemy.url: when env.py runs, "
                        "frozen-alembic sets sqlalchemy.url to the document, so it opens the "
                        "same file (and the migration runs on frozen-alembic's connection)"
                        + ("" if report.run_env_py else "; with run_env_py=False it never runs"),
                        where,
                    )
                )
            elif last in ("async_engine_from_config", "create_async_engine"):
                report.engine.append(last)
                self.env_issue(
                    Finding(
                        "engine",
                        f"{last}(...)",
                        "an async engine: frozen-alembic migrates on its own synchronous "
                        "connection",
                        where,
                    ),
                    "" if bypassed else self.connection_fix(where),
                    bypassed=bypassed,
                )
            elif last == "create_engine":
                first = node.args[0] if node.args else None
                kinds = module.kinds(first, sources) if first is not None else set()
                shown = ast.unparse(node)
                report.engine.append(f"create_engine({ast.unparse(first) if first else ''})")
                if "url" in kinds:
                    self.ok(
                        Finding(
                            "engine",
                            shown,
                            "an engine from sqlalchemy.url"
                            + (" when no -x is given" if "x" in kinds else "")
                            + ", which frozen-alembic points at the document when env.py runs",
                            where,
                        )
                    )
                elif "x" in kinds or "literal" in kinds or "environ" in kinds:
                    self.url_from_x_only = self.url_from_x_only or ("x" in kinds and not bypassed)
                    how = (
                        "a URL from -x"
                        if "x" in kinds
                        else "a URL from an environment variable"
                        if "environ" in kinds
                        else "a hard-coded URL"
                    )
                    self.env_issue(
                        Finding(
                            "engine",
                            shown,
                            f"{how}: frozen-alembic refuses, at run time, an env.py that "
                            "connects to anything but the document",
                            where,
                        ),
                        ""
                        if bypassed
                        else self.connection_fix(where)
                        + "\n(or build the engine from config.get_main_option("
                        '"sqlalchemy.url"), which frozen-alembic points at the document)',
                        bypassed=bypassed,
                    )
                elif bypassed:
                    self.ok(
                        Finding(
                            "engine",
                            shown,
                            "reached only when env.py is given no connection: frozen-alembic "
                            'always gives one, in config.attributes["connection"]',
                            where,
                        )
                    )
                else:
                    self.no(
                        Finding(
                            "engine",
                            shown,
                            "a URL frozen-alembic cannot trace: when env.py runs, anything but "
                            "the document is refused at run time",
                            where,
                            'use config.get_main_option("sqlalchemy.url") (the document), or '
                            'config.attributes["connection"]',
                        )
                    )
            elif last == "set_main_option" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and first.value == "sqlalchemy.url":
                    self.env_issue(
                        Finding(
                            "engine",
                            ast.unparse(node),
                            "replaces the document's URL, which frozen-alembic set",
                            where,
                        ),
                        "set it only when none is given:\n"
                        'if not config.get_main_option("sqlalchemy.url"):\n'
                        "    " + ast.unparse(node),
                        bypassed=bypassed,
                    )
        if not report.engine:
            self.ok(
                Finding(
                    "engine",
                    "no engine of its own",
                    "env.py migrates on the connection it is given",
                    module.name,
                )
            )

    # ------------------------------------------------------------------ revisions

    def read_revisions(self) -> None:
        versions = self.report.script_location / "versions"
        files = sorted(versions.glob("*.py")) if versions.is_dir() else []
        compiled = sorted(versions.glob("*.pyc")) if versions.is_dir() else []
        if not files and not compiled:
            self.no(
                Finding(
                    "layout",
                    "versions/",
                    "holds no revision yet: there is nothing to migrate",
                    _relative(versions, self.project),
                    "add the first revision (alembic revision -m ...)",
                    must_change=True,
                )
            )
            return
        self.ok(
            Finding(
                "layout",
                f"versions/ ({_count(len(files) or len(compiled), 'revision file')})",
                "applied by frozen-alembic as they are, whatever their file names",
                _relative(versions, self.project),
            )
        )
        attributes_set = self.env is not None and any(
            "config.attributes" in f.text for f in self.env.must_run
        )
        for file in files:
            try:
                module = _Module(file, self.project)
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as err:
                self.no(
                    Finding(
                        "revision",
                        file.name,
                        f"cannot be read: {err}",
                        _relative(file, self.project),
                        "fix the revision",
                        must_change=True,
                    )
                )
                continue
            self.read_x_arguments(module, in_env=False)
            for node, callee in module.calls():
                last = callee.rpartition(".")[2]
                first = node.args[0] if node.args else None
                key = first.value if isinstance(first, ast.Constant) else None
                if last in ("get_main_option", "get_section_option", "get_section") and key not in (
                    "script_location",
                ):
                    self.no(
                        Finding(
                            "revision",
                            ast.unparse(node),
                            "reads alembic.ini, which the app does not have: frozen-alembic's "
                            "configuration holds script_location only",
                            module.where(node),
                            "write the value into the revision, or read it from the document "
                            "(op.get_bind())",
                            must_change=True,
                        )
                    )
                elif callee in ("os.getcwd", "os.chdir", "pathlib.Path.cwd", "Path.cwd"):
                    self.no(
                        Finding(
                            "revision",
                            ast.unparse(node),
                            "the working directory: in the app it is wherever the user "
                            "started it, and frozen-alembic never changes it",
                            module.where(node),
                            "use paths relative to the revision file (Path(__file__).parent), "
                            "or nothing from outside the document",
                            must_change=True,
                        )
                    )
            self.read_attributes(module, attributes_set)

    def read_attributes(self, module: _Module, attributes_set: bool) -> None:
        """A revision reading ``config.attributes``: only the connection is there."""
        for attr in ast.walk(module.tree):
            if not (
                isinstance(attr, ast.Attribute)
                and attr.attr == "attributes"
                and "config" in (_dotted(attr.value) or "")
            ):
                continue
            used = ast.unparse(module.parents.get(attr, attr))
            if attributes_set or "connection" in used:
                continue
            self.no(
                Finding(
                    "revision",
                    used,
                    "reads config.attributes, which only a running env.py (or the code "
                    "calling alembic) fills; frozen-alembic puts only its connection there",
                    module.where(attr),
                    "write the value into the revision, or read it from the document",
                    must_change=True,
                )
            )
            return

    # ------------------------------------------------------------------ imports

    def read_imports(self) -> ImportScan:
        location = self.report.script_location
        without = scan_imports(location) if self.prepend else None
        with _on_sys_path(self.prepend):
            scan = scan_imports(location)
            self.report.anchor = self.find_anchor(scan)
            self.check_locate()
        report = self.report
        report.app_modules = sorted(scan.app_modules)
        report.missing = list(scan.missing)
        sites = self.import_sites()
        env_only = {m for m, ws in sites.items() if ws and all(w.startswith("env.py") for w in ws)}
        for module in report.app_modules:
            where = ", ".join(sites.get(module, [])[:3]) or "the app modules above"
            note = (
                "; only env.py imports it, which does not run: shipped anyway"
                if module in env_only and not report.run_env_py
                else ""
            )
            self.ok(
                Finding(
                    "module",
                    module,
                    f"an app module the migrations import (from {where}): a freezer cannot "
                    "see it, frozen_alembic.build adds it (cx_Freeze includes, PyInstaller "
                    f"--hidden-import, Nuitka --include-module){note}",
                )
            )
        for site in scan.missing:
            self.no(
                Finding(
                    "module",
                    site.module,
                    f"cannot be imported by this Python ({sys.executable}): the build stops "
                    "here (frozen_alembic.build will not bundle a revision that cannot load), "
                    "and the app could not run it",
                    f"{_relative(site.file, self.project)}:{site.line}",
                    "install it where you build, or fix the import",
                    must_change=True,
                )
            )
        for site in scan.optional_missing:
            self.no(
                Finding(
                    "module",
                    site.module,
                    "missing, but optional (inside try/except ImportError): the app runs "
                    "without it",
                    f"{_relative(site.file, self.project)}:{site.line}",
                )
            )
        for problem in scan.problems:
            self.no(Finding("module", "import", problem, must_change=True))
        if self.prepend:
            shown = self.config.written("prepend_sys_path")
            needed = sorted(
                {s.module for s in (without.missing if without else [])}
                - {s.module for s in scan.missing}
            )
            if needed:
                paths = os.pathsep.join(_relative(p, self.project) or "." for p in self.prepend)
                self.no(
                    Finding(
                        "ini",
                        f"prepend_sys_path = {shown}",
                        "frozen-alembic never changes sys.path, and "
                        f"{', '.join(needed)} is found only through it: the frozen app gets "
                        "it from the freezer, but the build must see it too",
                        self.config.source("prepend_sys_path"),
                        f"run the build with PYTHONPATH={paths} (or install the app: "
                        "pip install -e .)",
                    )
                )
            else:
                self.no(
                    Finding(
                        "ini",
                        f"prepend_sys_path = {shown}",
                        "not needed: every module the migrations import is found without it "
                        "(frozen-alembic never changes sys.path)",
                        self.config.source("prepend_sys_path"),
                    )
                )
        return scan

    def import_sites(self) -> dict[str, list[str]]:
        location = self.report.script_location
        found: dict[str, list[str]] = {}
        files = [location / "env.py", *sorted((location / "versions").glob("*.py"))]
        for file in files:
            if not file.is_file():
                continue
            sites, _problems = _sites(file, None)
            for _kind, site in sites:
                where = f"{_relative(site.file, self.project)}:{site.line}"
                if where not in found.setdefault(site.module, []):
                    found[site.module].append(where)
        return found

    def find_anchor(self, scan: ImportScan) -> str | None:
        if self.package is not None:
            return self.package
        location = self.report.script_location
        parts: list[str] = []
        parent = location.parent
        while (parent / "__init__.py").is_file():
            parts.insert(0, parent.name)
            parent = parent.parent
        if parts:
            return parts[0]
        tops: dict[str, int] = {}
        for module in sorted(scan.app_modules):
            top = module.split(".")[0]
            tops[top] = tops.get(top, 0) + 1
        if tops:
            return max(sorted(tops), key=lambda t: tops[t])
        candidates = [
            d.name
            for base in (self.project, self.project / "src")
            if base.is_dir()
            for d in sorted(base.iterdir())
            if (d / "__init__.py").is_file() and d.name not in ("tests", "test", "docs")
        ]
        return candidates[0] if len(candidates) == 1 else None

    def check_locate(self) -> None:
        report = self.report
        if report.anchor is None:
            self.no(
                Finding(
                    "anchor",
                    "anchor",
                    'no package of the app found: the code below says anchor="myapp"',
                    "",
                    "replace myapp with your app's top-level package (Migrator.locate "
                    "finds the migrations from source next to it)",
                )
            )
            return
        spec = find_spec(report.anchor)
        if spec is None or not spec.origin or not os.path.isfile(spec.origin):
            return
        from .._locators.source import Source

        places = [Path(p).resolve() for p in Source(report.anchor).places(report.target)]
        here = f'Migrator.locate("{report.target}", anchor="{report.anchor}")'
        if report.script_location.resolve() in places:
            self.ok(
                Finding(
                    "anchor",
                    f'anchor="{report.anchor}"',
                    f"run from source, {here} finds "
                    f"{_relative(report.script_location, self.project)} next to the package",
                )
            )
        else:
            looked = ", ".join(str(p.parent) for p in places)
            self.no(
                Finding(
                    "anchor",
                    f'anchor="{report.anchor}"',
                    f"run from source, {here} looks in {looked}, not in {self.project}; "
                    "frozen builds are not concerned (the folder is bundled)",
                    "",
                    "from source, pass the folder: ensure_current(path, scripts=...), or keep "
                    "the migrations next to the package",
                )
            )

    # ------------------------------------------------------------------ the app

    def read_app(self) -> None:
        report = self.report
        keys = [k for k in report.x_arguments if k != "?"]
        skip = report.script_location.resolve()
        count = 0
        for folder, dirs, files in os.walk(self.project):
            here = Path(folder)
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in SKIPPED_DIRS
                and (here / d).resolve() != skip
                and not (here / d / "pyvenv.cfg").exists()
            )
            for name in sorted(files):
                if not name.endswith(".py"):
                    continue
                count += 1
                if count > MAX_APP_FILES:
                    return
                path = here / name
                try:
                    if path.stat().st_size > 1_000_000:
                        continue
                    module = _Module(path, self.project)
                except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                    continue
                self.read_app_module(module, keys)

    def read_app_module(self, module: _Module, keys: list[str]) -> None:
        lines = module.path.read_text(encoding="utf-8").splitlines()

        def add(node: ast.AST, text: str) -> None:
            line = getattr(node, "lineno", 0)
            where = module.where(node)
            if any(f.where == where for f in self.report.delete):
                return
            source = lines[line - 1].strip() if 0 < line <= len(lines) else ast.unparse(node)
            self.report.delete.append(Finding("app", source, text, where))

        for node, callee in module.calls():
            if callee == "os.chdir":
                add(node, "frozen-alembic never needs the working directory")
            elif callee == "alembic.config.main" or callee.startswith("alembic.command."):
                add(node, "replace with ensure_current(document_path) (or migrator.upgrade)")
            elif callee == "alembic.config.Config":
                add(node, "no ini file in the app: frozen-alembic needs none")
            elif callee.startswith("subprocess.") and "alembic" in ast.unparse(node):
                add(node, "no alembic process: ensure_current(document_path) in the app itself")
        for item in ast.walk(module.tree):
            text = None
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                text = item.value
            elif isinstance(item, ast.JoinedStr):
                text = "".join(
                    v.value
                    for v in item.values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)
                )
            if text and any(text.startswith(f"{key}=") for key in keys):
                if isinstance(module.parents.get(item), ast.JoinedStr):
                    continue
                add(item, "an -x argument: frozen-alembic passes the document itself")

    # ------------------------------------------------------------------ the paste

    def write_paste(self) -> None:
        report = self.report
        anchor = report.anchor or "myapp"
        extra = []
        if report.run_env_py:
            extra.append("run_env_py=True")
        table = report.version_table
        if table is not None and any(
            f.subject.startswith("version_table=") and f.must_change for f in report.wont_carry_over
        ):
            extra.append(f'version_table="<the value of {table}>"')
        note = ""
        names = [n for n in report.options if n != "connection"]
        if report.run_env_py:
            note = (
                "# run_env_py=True: env.py runs (see why above), on frozen-alembic's connection,\n"
                "# inside its one transaction\n"
            )
        elif names:
            why = (
                "read by autogenerate only, not needed to migrate"
                if set(names) <= AUTOGENERATE | {"version_table"}
                else "see above"
            )
            note = (
                "# env.py is not run (run_env_py=False, the default), which loses\n"
                f"# its {', '.join(names)}: {why}\n"
            )
        elif (report.script_location / "env.py").is_file():
            note = "# env.py is not run (run_env_py=False, the default): it does nothing needed\n"
        startup = _call(
            "report = ensure_current",
            ["document_path", f'folder="{report.target}"', f'anchor="{anchor}"', *extra],
        )
        report.paste.append(
            (
                "the app, where it opens a document (or at start-up)",
                f"from frozen_alembic import ensure_current\n\n{note}{startup}",
            )
        )
        locate = _call(
            "migrator = Migrator.locate", [f'"{report.target}"', f'anchor="{anchor}"', *extra]
        )
        report.paste.append(
            (
                "or with a Migrator (plan, progress, Cancel: see the README)",
                f"from frozen_alembic import Migrator\n\n{locate}\n"
                "report = migrator.upgrade(document_path)  # lock, backup, one transaction",
            )
        )
        rel = _relative(report.script_location, self.project)
        target = report.target
        pythonpath = ""
        if any(f.subject.startswith("prepend_sys_path") and f.fix for f in report.wont_carry_over):
            pythonpath = "PYTHONPATH=" + os.pathsep.join(
                _relative(p, self.project) or "." for p in self.prepend
            )
        entry = self.entry_script(anchor)
        report.paste.append(
            (
                "build: cx_Freeze setup.py, run from " + str(self.project),
                "from frozen_alembic.build import cx_freeze_options, merge_options\n\n"
                "build_exe = merge_options(\n"
                f'    {{"packages": ["{anchor}"]}},\n'
                f'    cx_freeze_options("{rel}", target="{target}"),\n'
                ")\n"
                '# setup(..., options={"build_exe": build_exe})'
                + (f"\n# run it with {pythonpath}" if pythonpath else ""),
            )
        )
        env_prefix = f"{pythonpath} " if pythonpath else ""
        report.paste.append(
            (
                "build: PyInstaller (bash)",
                f"args=$({env_prefix}frozen-alembic pyinstaller-args {rel} --target {target}) &&\n"
                'mapfile -t fa <<< "$args" &&\n'
                f'pyinstaller --noconfirm --onedir --name {anchor} "${{fa[@]}}" \\\n'
                f"    --exclude-module multiprocessing --exclude-module setuptools {entry}",
            )
        )
        report.paste.append(
            (
                "build: Nuitka",
                "from frozen_alembic.build import nuitka_args\n\n"
                f'flags = nuitka_args("{rel}", target="{target}")',
            )
        )
        report.paste.append(
            (
                "before shipping",
                f"frozen-alembic verify dist/{anchor} --source {rel} "
                f'--run "dist/{anchor}/{anchor} {{db}}"',
            )
        )

    def entry_script(self, anchor: str) -> str:
        for base in (self.project, self.project / "src"):
            main = base / anchor / "__main__.py"
            if main.is_file():
                return _relative(main, self.project)
        return "your_app.py"


def _autogenerate_text(name: str, origin: str) -> str:
    metadata = "none yet" if origin == "None" else origin
    detail = {
        "target_metadata": f"the app's MetaData ({metadata}); ",
        "render_as_batch": "it writes new revisions with batch operations, and the "
        "revisions' batch operations run as written; ",
    }.get(name, "")
    return (
        f"{detail}read by autogenerate only: `alembic revision --autogenerate` keeps "
        "using it in development, migrating never does (no env.py run needed)"
    )


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _call(head: str, args: list[str]) -> str:
    """``head(args)`` on one line, or one argument a line when that is too long."""
    line = f"{head}({', '.join(args)})"
    if len(line) <= 88:
        return line
    return f"{head}(\n" + "".join(f"    {a},\n" for a in args) + ")"


def _masked(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def adopt(
    project_dir: str | os.PathLike[str] = ".",
    *,
    ini: str | os.PathLike[str] | None = None,
    section: str = "alembic",
) -> AdoptReport:
    """Read an Alembic project and say what carries over to frozen-alembic, and how.

    Nothing is run: the ini is read with :mod:`configparser`, ``env.py`` and the
    revisions with :mod:`ast`, their imports with :func:`scan_imports` (with the
    ini's ``prepend_sys_path`` on ``sys.path`` for the time of the scan).

    :param project_dir: the project's root (holding ``alembic.ini``), the ini itself,
        or the script directory.
    :param ini: the ini file, when it is not ``project_dir/alembic.ini``.
    :param section: the ini's section (``alembic --name``).
    :return: an :class:`AdoptReport`; ``report.ok`` is ``False`` when something must
        change first, and ``str(report)`` is the text ``frozen-alembic adopt`` prints.
    :raises BuildError: there is no Alembic project there, or no script directory.
    """
    given = Path(project_dir)
    ini_path, scripts = _find_project(given, ini)
    if ini_path is not None:
        folder = ini_path.parent
    elif scripts is not None:
        folder = _project_root(scripts)
    else:
        folder = given.resolve()
    config = _read_config(ini_path, folder, section)
    value = config.get("script_location")
    named: Path | None = None
    package: str | None = None
    if isinstance(value, str) and value.strip():
        prepend = _split_paths(config.get("prepend_sys_path") or "", config, legacy_colons=True)
        with _on_sys_path([folder / p for p in prepend]):
            named, package = _resolve_location(value.strip(), folder)
    if scripts is None:
        if not isinstance(value, str) or not value.strip():
            where = ini_path or folder / "pyproject.toml"
            msg = (
                f"{where} names no script_location in [{section}] (nor pyproject.toml's "
                "[tool.alembic]): give the script directory instead."
            )
            raise BuildError(msg)
        if named is None or not named.is_dir():
            msg = f"script_location = {value} ({named or package}): there is no such folder."
            raise BuildError(msg)
        scripts = named
    elif named is None or named.resolve() != scripts:
        # The ini found above the script directory is another project's: not read.
        ini_path, package = None, None
        config = _Config(None, folder, section)
    project = folder.resolve()
    report = AdoptReport(
        project=project,
        ini=ini_path,
        script_location=scripts,
        target=scripts.name,
    )
    work = _Adoption(report, config)
    work.package = package.split(".")[0] if package else None
    if ini_path is not None or config.toml_path is not None:
        value = config.get("script_location")
        if isinstance(value, str):
            work.ok(
                Finding(
                    "layout",
                    f"script_location = {config.written('script_location')}",
                    f"the folder frozen-alembic bundles ({_relative(scripts, project)}), found "
                    f'in the app as "{report.target}"',
                    config.source("script_location"),
                )
            )
    work.read_ini()
    work.read_version_locations()
    work.read_prepend()
    work.read_env()
    work.read_revisions()
    work.read_imports()
    work.read_app()
    work.write_paste()
    return report
