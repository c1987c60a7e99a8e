"""The reference app as Linux packages: built, installed for real, run by an ordinary user.

``python setup.py bdist_deb`` (cx_Freeze's, adapted in setup.py) freezes the app and
packages it as an ``.rpm``, then converts that with alien into a ``.deb``: both
install the build into ``/opt/notekeeper``, owned by root, with ``/usr/bin/notekeeper``
on every user's ``PATH``, a desktop entry and an icon.  Two packages are built, side
by side, from private copies of the project: the current release, and a newer one
with one more revision.

As root, the ``.deb`` is installed with ``dpkg -i``; an ordinary user, made for the
test with a home folder, runs ``notekeeper --check`` (through ``runuser``) on an old
document in that home from another working directory.  The document is migrated with
its backup beside it, while nothing under ``/opt/notekeeper`` changes (every file
hashed before and after) and nothing is written to the working directory or
``$TMPDIR``.  The newer package is installed over it and migrates the same document
again; ``dpkg --purge`` removes it and the user's documents and backups stay.  The
``.rpm`` is installed with ``rpm -i`` into a separate root.  ``frozen-alembic verify``
checks both packages, and fails on a tampered one.

The two builds overlap and take about two minutes, the whole module about two and a
half.  Without root (or the packaging tools, which scripts/test installs as root) the
tests that need them skip and say why.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from frozen_alembic.build import BuildError, verify_build

from .builds import (
    NEXT_REVISION,
    NEXT_VERSION,
    BuildJob,
    Snapshot,
    app_version,
    copy_project,
    package_job,
)
from .conftest import HEAD, versions
from .test_real_builds import (
    assert_data_intact,
    backup_path,
    describe,
    fill,
    run_verify,
    siblings,
)

pytestmark = pytest.mark.slow

BUILD_TIMEOUT = 900.0
RUN_TIMEOUT = 120.0
PREFIX = Path("/opt/notekeeper")
LAUNCHER = Path("/usr/bin/notekeeper")
DESKTOP = "usr/share/applications/notekeeper.desktop"
ICON = "usr/share/icons/hicolor/64x64/apps/notekeeper.png"
BUILD_TOOLS = ("rpmbuild", "alien", "dpkg-deb", "rpm2cpio", "cpio")
INSTALL_TOOLS = ("dpkg", "rpm", "useradd", "userdel", "runuser")
# Two runs of the suite on one machine must not install and remove the package
# under each other's feet.
LOCK = Path("/run/lock/frozen-alembic-installers.lock")


def missing(tools: tuple[str, ...]) -> str | None:
    """Why the tests cannot run here (``None``: they can)."""
    absent = [tool for tool in tools if shutil.which(tool) is None]
    if absent:
        return f"{', '.join(absent)} not installed (scripts/test installs them as root)"
    return None


def needs_root() -> None:
    """Skip, saying why, unless this runs as root with the installing tools."""
    if os.geteuid() != 0:
        pytest.skip("installing a package and creating a user need root")
    reason = missing(INSTALL_TOOLS)
    if reason is not None:
        pytest.skip(reason)


# --- the packages ---------------------------------------------------------------------


@dataclass(frozen=True)
class Packages:
    """One release's ``.deb`` and ``.rpm``."""

    deb: Path
    rpm: Path


def _packages(job: BuildJob) -> Packages:
    deb = job.wait(BUILD_TIMEOUT)
    rpms = sorted(deb.parent.glob("*.rpm"))
    assert len(rpms) == 1, f"not one .rpm beside {deb}: {rpms}"
    return Packages(deb, rpms[0])


@pytest.fixture(scope="module")
def package_jobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, BuildJob]]:
    """Both releases' builds, started together (they overlap)."""
    reason = missing(BUILD_TOOLS) or (
        None if os.geteuid() == 0 or shutil.which("fakeroot") else "fakeroot not installed"
    )
    if reason is not None:
        pytest.skip(reason)
    jobs = {}
    for name, next_release in (("current", False), ("next", True)):
        work = tmp_path_factory.mktemp(f"package-{name}")
        project = copy_project(work / "project", next_release=next_release)
        jobs[name] = package_job(project, work).start()
    yield jobs
    for job in jobs.values():
        job.stop()


@pytest.fixture(scope="module")
def current(package_jobs: dict[str, BuildJob]) -> Packages:
    """The packages of the app as it is (the newest recorded release)."""
    return _packages(package_jobs["current"])


@pytest.fixture(scope="module")
def newer(package_jobs: dict[str, BuildJob]) -> Packages:
    """The packages of the next release: :data:`NEXT_REVISION` on top."""
    return _packages(package_jobs["next"])


def test_the_packages_say_what_they_are(current: Packages) -> None:
    fields = ("Package", "Version", "Maintainer", "Section", "Description")
    deb = subprocess.run(
        ["dpkg-deb", "--field", str(current.deb), *fields],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Package: notekeeper\n" in deb
    assert f"Version: {app_version()}-1\n" in deb
    assert "Maintainer: frozen-alembic developers <frozen-alembic@example.org>\n" in deb
    assert "Section: utils\n" in deb
    assert "Description: Notebooks in a SQLite document" in deb
    assert "Depends" not in deb  # the frozen app brings its libraries along
    control = subprocess.run(
        ["dpkg-deb", "--info", str(current.deb)], capture_output=True, text=True, check=True
    ).stdout
    assert " control " in control
    assert " shlibs " not in control  # its libraries are not offered to the system
    assert " triggers " not in control  # so no ldconfig
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(current.deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in (f"./{DESKTOP}", f"./{ICON}", "./opt/notekeeper/notekeeper"):
        assert re.search(rf" {re.escape(path)}$", listing, re.M), path
    # A relative link in the .rpm; debhelper makes it absolute in the .deb (Debian's policy
    # for a link from one top-level folder into another).
    assert re.search(
        r" \./usr/bin/notekeeper -> (/|\.\./\.\./)opt/notekeeper/notekeeper$", listing, re.M
    )
    assert " root/root " in listing
    assert "./home" not in listing
    query = "%{NAME} %{VERSION}-%{RELEASE} %{LICENSE}|%{PACKAGER}|%{SUMMARY}"
    rpm = subprocess.run(
        ["rpm", "-qp", "--queryformat", query, str(current.rpm)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert rpm == (
        f"notekeeper {app_version()}-1 MIT|frozen-alembic developers <frozen-alembic@example.org>|"
        "Notebooks in a SQLite document (the frozen-alembic reference app)"
    )
    requires = subprocess.run(
        ["rpm", "-qpR", str(current.rpm)], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert [r for r in requires if r and not r.startswith("rpmlib(")] == []


# --- an ordinary user -----------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """An ordinary user made for the test, with a home folder."""

    name: str
    uid: int
    gid: int
    home: Path

    def folder(self, name: str) -> Path:
        """A new, empty folder of the user's in their home."""
        path = self.home / name
        path.mkdir()
        os.chown(path, self.uid, self.gid)
        return path

    def give(self, path: Path) -> Path:
        """Make ``path`` the user's, as if they had written it."""
        os.chown(path, self.uid, self.gid)
        return path

    def run(self, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as the user, in a clean login-like environment, from ``cwd``.

        Afterwards ``cwd`` and the user's ``$TMPDIR`` must be empty.
        """
        temp = self.home / "tmp"
        env = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "TMPDIR": str(temp),
            "LANG": "C.UTF-8",
        }
        proc = subprocess.run(
            [
                "runuser",
                "-u",
                self.name,
                "--",
                "env",
                "-i",
                *[f"{k}={v}" for k, v in env.items()],
                *argv,
            ],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert list(cwd.iterdir()) == [], (
            f"the app wrote into its working directory\n{describe(proc)}"
        )
        assert list(temp.iterdir()) == [], f"the app left files in $TMPDIR\n{describe(proc)}"
        return proc


@pytest.fixture(scope="module")
def user() -> Iterator[User]:
    """A user with a home folder (``useradd``), removed with it afterwards."""
    needs_root()
    name = f"fa-user-{os.getpid()}"
    subprocess.run(
        ["useradd", "--create-home", "--user-group", "--shell", "/bin/sh", name],
        check=True,
        capture_output=True,
    )
    try:
        entry = pwd.getpwnam(name)
        made = User(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))
        made.folder("tmp")
        yield made
    finally:
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
    assert not made.home.exists()


@pytest.fixture(scope="module")
def system() -> Iterator[None]:
    """This machine's package database, to ourselves; notekeeper is removed afterwards."""
    needs_root()
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_installed():
            pytest.skip("a notekeeper package is installed on this machine: not replacing it")
        try:
            yield
        finally:
            subprocess.run(["dpkg", "--purge", "notekeeper"], check=False, capture_output=True)


def is_installed() -> bool:
    """``True`` when dpkg knows an installed notekeeper package."""
    proc = subprocess.run(
        ["dpkg-query", "--show", "--showformat", "${Status}", "notekeeper"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0 and "installed" in proc.stdout.split()


def dpkg(*args: str) -> None:
    proc = subprocess.run(["dpkg", *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, describe(proc)


def old_document(user: User, db_at: Callable[[str], Path], revision: str) -> Path:
    """A document at ``revision``, with data, in the user's ``Documents`` folder."""
    source = db_at(revision)
    fill(source)
    folder = user.home / "Documents"
    if not folder.exists():
        user.folder("Documents")
    return user.give(Path(shutil.copy2(source, folder / f"Notes from {revision}.notes")))


def check_migrated(
    proc: subprocess.CompletedProcess[str], db: Path, before: str, after: str, user: User
) -> Path:
    """The document went from ``before`` to ``after``, with a backup beside it: that backup."""
    assert proc.returncode == 0, describe(proc)
    assert f"upgraded {db} from {before}" in proc.stdout, describe(proc)
    assert versions(db) == [after]
    backup = backup_path(proc)
    assert backup.parent == db.parent
    assert backup.name.startswith(f"{db.name}.")
    assert backup.name.endswith(f".{before}.bak")
    assert versions(backup) == [before]
    for path in (db, backup):
        assert (path.stat().st_uid, path.stat().st_gid) == (user.uid, user.gid), path
    return backup


def check_owned_by_root(root: Path) -> None:
    """Every file and folder under ``root`` is root's, and no one else may write it."""
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        assert info.st_uid == 0, f"{path} is not root's"
        if not path.is_symlink():
            assert not info.st_mode & 0o022, f"{path} is writable by others: {oct(info.st_mode)}"


# --- installed for real ---------------------------------------------------------------


def test_deb_installed_run_by_a_user_upgraded_and_removed(
    system: None,
    current: Packages,
    newer: Packages,
    user: User,
    db_at: Callable[[str], Path],
) -> None:
    dpkg("--install", str(current.deb))
    assert is_installed()
    assert os.path.realpath(LAUNCHER) == str(PREFIX / "notekeeper")
    check_owned_by_root(PREFIX)
    assert Path("/", DESKTOP).is_file()
    assert Path("/", ICON).is_file()
    installed = Snapshot.of(PREFIX)

    # 1. The user opens a release-1.0 document from their home, working elsewhere.
    db = old_document(user, db_at, "0001_initial")
    elsewhere = user.folder("elsewhere")
    proc = user.run(["notekeeper", "--check", str(db)], elsewhere)
    first_backup = check_migrated(proc, db, "0001_initial", HEAD, user)
    assert f"migrations from {PREFIX / 'migrations'}" in proc.stdout, describe(proc)
    assert_data_intact(db, "0001_initial")
    assert installed.differences(Snapshot.of(PREFIX)) == []

    # 2. The next release, installed over it, migrates the same document again.
    dpkg("--install", str(newer.deb))
    version = subprocess.run(
        ["dpkg-query", "--show", "--showformat", "${Version}", "notekeeper"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version == f"{NEXT_VERSION}-1"
    upgraded = Snapshot.of(PREFIX)
    assert f"migrations/versions/{NEXT_REVISION}.py" in upgraded.files
    proc = user.run(["notekeeper", str(db)], user.folder("elsewhere-2"))
    second_backup = check_migrated(proc, db, HEAD, NEXT_REVISION, user)
    assert upgraded.differences(Snapshot.of(PREFIX)) == []
    kept = siblings(db)
    assert kept == sorted([db.name, first_backup.name, second_backup.name])

    # 3. Removed: the program is gone, the user's files are not.
    dpkg("--purge", "notekeeper")
    assert not is_installed()
    assert not PREFIX.exists()
    assert not LAUNCHER.is_symlink()
    assert siblings(db) == kept
    assert versions(db) == [NEXT_REVISION]
    assert versions(first_backup) == ["0001_initial"]


def test_rpm_installed_into_a_separate_root_and_run_by_a_user(
    current: Packages, user: User, db_at: Callable[[str], Path]
) -> None:
    # A root of its own, with its own RPM database: this machine's packages belong to
    # dpkg.  No --nodeps: the package requires nothing but rpm's own features
    # (AutoReqProv: no; a frozen app brings its libraries).  An RPM that listed the
    # system libraries it needs would need --nodeps on a Debian machine, whose RPM
    # database knows nothing of what dpkg installed.
    root = Path(tempfile.mkdtemp(prefix="frozen-alembic-rpm-root-"))
    try:
        root.chmod(0o755)  # the user reaches the program inside it
        for args in (["--initdb"], ["--install", str(current.rpm)]):
            proc = subprocess.run(
                ["rpm", "--root", str(root), *args], capture_output=True, text=True, check=False
            )
            assert proc.returncode == 0, describe(proc)
        prefix = root / PREFIX.relative_to("/")
        launcher = root / LAUNCHER.relative_to("/")
        assert launcher.resolve() == prefix / "notekeeper"
        check_owned_by_root(prefix)
        installed = Snapshot.of(prefix)
        db = old_document(user, db_at, "0003_pinned")
        proc = user.run([str(launcher), "--check", str(db)], user.folder("rpm-cwd"))
        check_migrated(proc, db, "0003_pinned", HEAD, user)
        assert_data_intact(db, "0003_pinned")
        assert installed.differences(Snapshot.of(prefix)) == []
        proc = subprocess.run(
            ["rpm", "--root", str(root), "--erase", "notekeeper"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, describe(proc)
        assert not prefix.exists()
        assert versions(db) == [HEAD]
    finally:
        shutil.rmtree(root)


# --- frozen-alembic verify on an installer --------------------------------------------


@pytest.mark.parametrize(
    ("kind", "run"),
    [("deb", "/usr/bin/notekeeper {db}"), ("rpm", "/opt/notekeeper/notekeeper --check {db}")],
)
def test_verify_passes_on_an_installer(
    current: Packages, tmp_path: Path, kind: str, run: str
) -> None:
    package = current.deb if kind == "deb" else current.rpm
    code, output = run_verify(package, tmp_path, run=run)
    assert code == 0, output
    assert "result: OK" in output
    assert f"{package.name} unpacked into a scratch folder" in output
    assert f"--run: {run.split()[0]} run from the unpacked package" in output
    assert "/installer/opt/notekeeper/migrations" in output  # the package's, not /opt's
    assert f"the built app brought a scratch database to ['{HEAD}']" in output
    assert output.count("  ok       document at ") == 5
    assert "PROBLEM" not in output


def test_verify_takes_an_installer_by_a_relative_path(
    current: Packages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(current.rpm.parent)
    before = sorted(current.rpm.parent.iterdir())
    report = verify_build(Path(current.rpm.name), run="/opt/notekeeper/notekeeper {db}")
    assert report.ok, str(report)
    assert report.build_dir == Path(current.rpm.name)
    assert [d.after for d in report.documents] == [(HEAD,)] * 5
    assert sorted(current.rpm.parent.iterdir()) == before


def test_verify_fails_on_a_tampered_deb(current: Packages, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "--raw-extract", str(current.deb), str(tree)], check=True)
    with (tree / "opt/notekeeper/migrations/versions/0004_sort_key_integer.py").open("a") as fh:
        fh.write("# tampered\n")
    tampered = tmp_path / current.deb.name
    subprocess.run(
        ["dpkg-deb", "-Zgzip", "-z1", "--build", str(tree), str(tampered)],
        check=True,
        capture_output=True,
    )
    code, output = run_verify(tampered, tmp_path, run="/opt/notekeeper/notekeeper {db}")
    assert code == 1, output
    assert "do not match the build's manifest" in output
    assert "changed: versions/0004_sort_key_integer.py" in output
    assert "result: OK" not in output


def test_verify_says_what_to_install_when_a_tool_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("notekeeper_1.5.0-1_amd64.deb", "notekeeper-1.5.0-1.x86_64.rpm"):
        (tmp_path / name).write_bytes(b"not looked at")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BuildError, match=r"dpkg-deb not found on PATH .*apt-get install dpkg"):
        verify_build(tmp_path / "notekeeper_1.5.0-1_amd64.deb", run="/opt/notekeeper/notekeeper")
    with pytest.raises(BuildError, match=r"rpm2cpio and cpio not found on PATH .*install rpm2"):
        verify_build(tmp_path / "notekeeper-1.5.0-1.x86_64.rpm")


@pytest.mark.parametrize("suffix", [".deb", ".rpm"])
def test_verify_refuses_a_broken_installer(tmp_path: Path, suffix: str) -> None:
    reason = missing(("dpkg-deb",) if suffix == ".deb" else ("rpm2cpio", "cpio"))
    if reason is not None:
        pytest.skip(reason)
    broken = tmp_path / f"notekeeper{suffix}"
    broken.write_bytes(b"!<arch>\nnot a package at all\n")
    with pytest.raises(BuildError, match=r"cannot be unpacked .*Build it again"):
        verify_build(broken, run="/opt/notekeeper/notekeeper {db}")
    assert broken.read_bytes().startswith(b"!<arch>")
