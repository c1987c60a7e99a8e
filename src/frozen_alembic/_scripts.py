"""Loading an Alembic script directory in memory: no ini file, no cwd, no argv."""

from __future__ import annotations

import os
import re
import sys
from functools import cached_property
from pathlib import Path

from . import _manifest
from ._exceptions import ScriptsError, ScriptsNotFound
from ._names import MANIFEST_NAME
from ._report import Record

TYPE_CHECKING = False

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = ["Revision", "Scripts", "load_failure"]


class Revision(Record):
    """One migration script, as :meth:`Migrator.history` lists it.

    :ivar id: the revision identifier.
    :ivar down_revisions: the revision(s) it follows; empty for a base revision.
    :ivar doc: the first line of its message.
    :ivar path: the file it was loaded from.
    :ivar is_head: whether no other revision follows it.
    """

    __slots__ = ("id", "down_revisions", "doc", "path", "is_head")  # noqa: RUF023  (repr order)

    def __init__(
        self, id: str, down_revisions: tuple[str, ...], doc: str, path: Path, is_head: bool
    ) -> None:
        self.id = id
        self.down_revisions = down_revisions
        self.doc = doc
        self.path = path
        self.is_head = is_head


def _layout(versions: Path) -> bool:
    """Decide whether ``versions`` holds source or bytecode-only revisions.

    Alembic without its ``sourceless`` option silently ignores ``.pyc`` files, and
    with it a stale ``__pycache__`` entry whose source was deleted would be run as
    a real migration.  So: any ``.py`` file means source mode, where compiled
    caches are ignored exactly as Python ignores them; no ``.py`` at all means
    bytecode mode; legacy ``.pyc`` files beside sources are refused as ambiguous.

    :return: ``True`` for bytecode-only (sourceless) mode.
    """
    sources = {p.stem for p in versions.glob("*.py")}
    legacy = {p.stem for p in versions.glob("*.pyc")}
    cached = list((versions / "__pycache__").glob("*.pyc"))
    if sources:
        orphans = sorted(legacy - sources)
        if orphans:
            msg = (
                f"{versions} mixes source revisions with bytecode-only ones "
                f"({', '.join(o + '.pyc' for o in orphans)}). Ship either every "
                "revision as .py or every revision as .pyc."
            )
            raise ScriptsError(msg)
        return False
    if legacy:
        return True
    if cached:
        tag = sys.implementation.cache_tag
        foreign = sorted(p.name for p in cached if f".{tag}." not in p.name)
        if foreign:
            msg = (
                f"{versions / '__pycache__'} holds bytecode for another Python "
                f"({', '.join(foreign)}); this is {tag}. Rebuild the bytecode with "
                "the Python that runs the application."
            )
            raise ScriptsError(msg)
        return True
    msg = (
        f"{versions} contains no revision files (.py or .pyc). Check that the "
        "build bundled the migration scripts."
    )
    raise ScriptsError(msg)


class Scripts:
    """An Alembic script directory, configured in memory and loaded once.

    If the directory holds a build manifest, its revision graph and heads answer
    questions that need no code, and every file is checked against it before the
    first module is loaded from the directory.

    :param location: the script directory (it contains ``versions/``).
    :param require_manifest: refuse a directory without a manifest (frozen builds).
    """

    def __init__(self, location: Path, *, require_manifest: bool = False) -> None:
        if not (location / "versions").is_dir():
            what = "does not exist" if not location.exists() else "has no versions/ folder"
            msg = (
                f"The Alembic script directory {location} {what}. Pass the folder "
                "that contains env.py and versions/."
            )
            raise ScriptsNotFound(msg, (location,))
        self.location = location
        self.manifest = _manifest.read(location)
        if self.manifest is None and require_manifest:
            msg = (
                f"{location} has no {MANIFEST_NAME}, so its scripts cannot be "
                "trusted in a frozen build. Bundle them with frozen_alembic.build."
            )
            raise ScriptsError(msg)
        self._verified = False

    @cached_property
    def sourceless(self) -> bool:
        """Whether the revisions are bytecode only (decided when code is first loaded)."""
        return _layout(self.location / "versions")

    def verify(self) -> None:
        """Check the files against the manifest (once); called before any code loads.

        :raises TamperedScripts: a file was changed, deleted or added.
        """
        if self.manifest is not None and not self._verified:
            _manifest.verify(self.location, self.manifest)
            self._verified = True

    @cached_property
    def env_options(self) -> dict[str, object]:
        """The literal options ``env.py`` passes to ``context.configure``, read with ``ast``.

        Only constants are seen (``version_table="app_version"``,
        ``render_as_batch=True``); a value ``env.py`` computes is not.  The manifest's
        record wins where there is one (a bytecode-only bundle has no ``env.py`` text).
        """
        recorded = (self.manifest or {}).get("env_options")
        if isinstance(recorded, dict):
            return dict(recorded)
        return env_options(self.location / "env.py")

    @property
    def has_env_py(self) -> bool:
        """Whether the directory has an ``env.py`` (or a compiled one)."""
        return any((self.location / name).exists() for name in ("env.py", "env.pyc"))

    def new_config(self) -> Config:
        """A fresh in-memory :class:`alembic.config.Config` for this directory."""
        from alembic.config import Config

        config = Config()
        # ConfigParser interpolation treats "%" specially: escape it.
        config.set_main_option("script_location", str(self.location).replace("%", "%%"))
        if self.sourceless:
            config.set_main_option("sourceless", "true")
        return config

    @cached_property
    def directory(self) -> ScriptDirectory:
        """The loaded :class:`alembic.script.ScriptDirectory` (revision map cached)."""
        from alembic.script import ScriptDirectory

        self.verify()
        try:
            from ._shared import no_bytecode_writes  # threading: only when code loads

            with no_bytecode_writes():
                directory = ScriptDirectory.from_config(self.new_config())
                directory.get_heads()  # loads every revision module now, writing no bytecode
        except ScriptsError:
            raise
        except Exception as err:
            raise load_failure(err, self.location) from err
        return directory

    @cached_property
    def graph(self) -> dict[str, tuple[str, ...]]:
        """Every revision mapped to the revisions it follows (including dependencies)."""
        if self.manifest is not None:
            return _manifest.graph(self.manifest)
        from alembic.util import CommandError

        try:
            from ._shared import no_bytecode_writes  # threading: only when code loads

            with no_bytecode_writes():
                scripts = list(self.directory.walk_revisions())
        except CommandError as err:
            msg = f"The migration scripts in {self.location} are inconsistent: {err}"
            raise ScriptsError(msg) from err
        return {s.revision: tuple(s._all_down_revisions) for s in scripts}

    @cached_property
    def heads(self) -> tuple[str, ...]:
        """The newest revisions, sorted."""
        if self.manifest is not None:
            return _manifest.heads(self.manifest)
        self.graph  # noqa: B018  (loads every revision module, without writing bytecode)
        return tuple(sorted(self.directory.get_heads()))

    def docs(self) -> dict[str, str]:
        """The first line of every revision's message (from the manifest when it has them)."""
        recorded = (self.manifest or {}).get("docs")
        if isinstance(recorded, dict):
            return {str(rev): str(doc) for rev, doc in recorded.items()}
        return {revision.id: revision.doc for revision in self.history()}

    def history(self) -> list[Revision]:
        """Every revision, oldest first (parents always before children)."""
        from ._status import pending_revisions

        self.directory  # noqa: B018  (verifies and loads the revision modules)
        heads = set(self.heads)
        result = []
        for rev in pending_revisions(self.graph, (), self.heads):
            script = self.directory.get_revision(rev)
            assert script is not None
            result.append(
                Revision(
                    id=rev,
                    down_revisions=self.graph[rev],
                    doc=script.doc,
                    path=Path(script.path),
                    is_head=rev in heads,
                )
            )
        return result


def env_options(env_py: Path) -> dict[str, object]:
    """The constant keyword arguments of every ``*.configure(...)`` call in ``env_py``."""
    import ast

    try:
        tree = ast.parse(env_py.read_text(encoding="utf-8"), filename=str(env_py))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    found: dict[str, object] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "configure":
            continue
        for keyword in node.keywords:
            if keyword.arg and isinstance(keyword.value, ast.Constant):
                found.setdefault(keyword.arg, keyword.value.value)
    return found


def _failing_file(err: BaseException, location: Path) -> str:
    """The script (``versions/NAME.py`` or ``env.py``) where loading ``err`` happened."""
    import traceback

    found = f"One of the migration scripts in {location}"
    if isinstance(err, SyntaxError) and err.filename:  # compiling: no frame of the file
        name = os.path.basename(err.filename)
        parent = os.path.basename(os.path.dirname(err.filename))
        shown = f"versions/{name}" if parent == "versions" else name
        return f"The migration script {location / shown} (line {err.lineno})"
    for frame in traceback.extract_tb(err.__traceback__):
        name = os.path.basename(frame.filename)
        parent = os.path.basename(os.path.dirname(frame.filename))
        if parent == "versions" or name in ("env.py", "env.pyc"):
            shown = f"versions/{name}" if parent == "versions" else name
            found = f"The migration script {location / shown} (line {frame.lineno})"
    return found


def missing_module(err: ImportError) -> str | None:
    """The module an :class:`ImportError` was looking for, as precisely as it says."""
    match = re.search(r"cannot import name '([\w.]+)' from '([\w.]+)'", str(err))
    if match:  # ``from pkg import submodule``: the submodule is what is missing
        return f"{match.group(2)}.{match.group(1)}"
    return err.name


def load_failure(err: BaseException, location: Path) -> ScriptsError:
    """A :class:`ScriptsError` for a script that failed while being loaded.

    An :class:`ImportError` names the missing module and, in a frozen build, the
    build option that ships it.
    """
    where = _failing_file(err, location)
    if isinstance(err, ImportError):
        module = missing_module(err) or "a module"
        if getattr(sys, "frozen", False) or "__compiled__" in globals():
            fix = (
                f"This build does not contain it. Ship it with the app: cx_Freeze "
                f"build_exe includes=[{module!r}], PyInstaller --hidden-import {module}, "
                f"Nuitka --include-module={module} (frozen_alembic.build adds what the "
                "scripts import when it stages them: rebuild with it)."
            )
        else:
            fix = f"Install {module}, or fix the import in the script."
        msg = f"{where} cannot be loaded: it imports {module} ({err}). {fix}"
        return ScriptsError(msg)
    msg = (
        f"{where} cannot be loaded: {type(err).__name__}: {err}. "
        "Fix the script (nothing was run on any database)."
    )
    return ScriptsError(msg)
