"""Freeze the notekeeper reference app with cx_Freeze, and package it for Linux.

``python setup.py build_exe`` freezes it; ``python setup.py bdist_rpm`` and
``python setup.py bdist_deb`` make the installers (the .deb is the .rpm converted by
alien; both are left in ``dist/``).  Packaging metadata of the library lives in
pyproject.toml; this file only freezes and packages the app.  The build configuration
is declarative, in freeze_config/notekeeper.toml; the migrations and everything
Alembic and SQLAlchemy import dynamically come from frozen_alembic.build.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import setuptools
import tomllib

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))  # the reference app is not installed

from cx_Freeze import Executable, setup  # noqa: E402
from cx_Freeze.command.bdist_deb import bdist_deb as cx_bdist_deb  # noqa: E402
from cx_Freeze.command.bdist_rpm import bdist_rpm as cx_bdist_rpm  # noqa: E402

from frozen_alembic.build import cx_freeze_options, merge_options  # noqa: E402

with (ROOT / "freeze_config" / "notekeeper.toml").open("rb") as fh:
    config = tomllib.load(fh)

app = config["app"]
package = config["package"]
migrations = config["migrations"]
build_exe = merge_options(
    {key: list(value) for key, value in config["build_exe"].items()},
    cx_freeze_options(
        ROOT / migrations["source"],
        target=migrations["target"],
        stage_dir=ROOT / "build" / "frozen-alembic",
        bytecode_only=migrations["bytecode_only"],
    ),
)


class Distribution(setuptools.Distribution):
    """setuptools' distribution, blind to pyproject.toml: that file describes the
    frozen-alembic library, and its ``[project]`` would rename and re-describe the app's
    packages."""

    def parse_config_files(
        self, filenames: object = None, ignore_option_errors: bool = False
    ) -> None:
        super().parse_config_files([], ignore_option_errors)


def _section(spec: list[str], name: str, lines: list[str]) -> None:
    """Replace the body of the spec file's section ``name`` (up to the next blank line)."""
    if name not in spec:
        msg = f"cx_Freeze's RPM spec has no {name} section any more: adapt setup.py"
        raise SystemExit(msg)
    start = spec.index(name) + 1
    end = spec.index("", start) if "" in spec[start:] else len(spec)
    spec[start:end] = lines


class bdist_rpm(cx_bdist_rpm):
    """cx_Freeze's ``bdist_rpm``, packaging the ``build_exe`` folder as it is.

    cx_Freeze's own spec rebuilds the app from a tarball of the current folder (all
    of it, the virtual environment included) and installs it into
    ``/usr/lib/NAME-VERSION``; this one packages the finished build into
    ``[package] prefix``, with the launcher on ``PATH``, the desktop entry and the icon.
    """

    def finalize_options(self) -> None:
        super().finalize_options()
        # run() works in an empty folder: the outputs stay where they were asked for.
        self.dist_dir = os.path.abspath(self.dist_dir)
        self.rpm_base = os.path.abspath(self.rpm_base)

    def run(self) -> None:
        self.run_command("build_exe")
        self.frozen = Path(self.get_finalized_command("build_exe").build_exe).resolve()
        # cx_Freeze tars the current folder as the RPM's source: nothing is built from it
        # (nor unpacked: see %prep).
        with tempfile.TemporaryDirectory() as empty, contextlib.chdir(empty):
            super().run()

    def _make_spec_file(self) -> list[str]:
        spec = super()._make_spec_file()
        prefix, launcher = package["prefix"], package["launcher"]
        name = app["target_name"]
        desktop = f"/usr/share/applications/{name}.desktop"
        icon = f"/usr/share/icons/hicolor/{package['icon_size']}/apps/{name}.png"
        # A frozen app carries its own libraries: the package neither offers them to
        # the system nor asks the system for them (AutoReqProv: no), and counts on what
        # every desktop has: the C library and, for the window, X11 or Wayland.  No
        # debug package, no build-id links, and no brp scripts after %install (they
        # strip and chmod files and, on Fedora, byte-compile the bundled revisions and
        # rewrite shebangs): the package holds the build exactly as it was built.
        spec[spec.index("%description") : spec.index("%description")] = ["AutoReqProv: no", ""]
        spec.remove("Prefix: %{_prefix}")  # not relocatable: it lives in /opt
        spec[:0] = [
            "%define debug_package %{nil}",
            "%define _build_id_links none",
            "%define __os_install_post %{nil}",
        ]
        q = shlex.quote
        _section(spec, "%prep", [": nothing to unpack: the build is packaged as it is"])
        _section(spec, "%build", [f": frozen already, by setup.py build_exe into {self.frozen}"])
        _section(
            spec,
            "%install",
            [
                f"mkdir -p %{{buildroot}}{q(prefix)} %{{buildroot}}{q(os.path.dirname(launcher))}",
                f"cp -a {q(str(self.frozen))}/. %{{buildroot}}{q(prefix)}/",
                # Relative: it also works in a copy unpacked elsewhere (verify does that).
                f"ln -s {q(os.path.relpath(f'{prefix}/{name}', os.path.dirname(launcher)))} "
                f"%{{buildroot}}{q(launcher)}",
                f"install -D -m 644 {q(str(ROOT / package['desktop_entry']))} "
                f"%{{buildroot}}{desktop}",
                f"install -D -m 644 {q(str(ROOT / package['icon']))} %{{buildroot}}{icon}",
            ],
        )
        _section(spec, "%files", ["%defattr(-,root,root,-)", prefix, launcher, desktop, icon])
        return spec


def _run(argv: list[str], cwd: Path) -> None:
    """Run a packaging tool quietly; on failure, stop with the end of its output."""
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        msg = f"{' '.join(argv)} failed with exit code {proc.returncode}:\n{tail}"
        raise SystemExit(msg)


def _edit(path: Path, edit: dict[str, str | None]) -> None:
    """Replace (or, for ``None``, drop) every line of ``path`` that starts with a key."""
    lines = []
    for line in path.read_text().splitlines():
        key = next((k for k in edit if line.startswith(k)), None)
        if key is None:
            lines.append(line)
        elif edit[key] is not None:
            lines.append(str(edit[key]))
    path.write_text("\n".join(lines) + "\n")


class bdist_deb(cx_bdist_deb):
    """cx_Freeze's ``bdist_deb``: the ``.rpm`` of :class:`bdist_rpm`, converted by alien.

    alien names the building user as the maintainer, files the package in section
    ``alien``, adds one to the release, and lets debhelper declare the bundled
    libraries as the package's to the whole system (``shlibs``, an ``ldconfig``
    trigger) and look for theirs among the system's packages.  Here the package keeps
    its version, the maintainer of ``[package]``, and its libraries to itself.
    """

    def run(self) -> None:
        rpm = self.distribution.get_command_obj("bdist_rpm")
        rpm.bdist_base = rpm.bdist_base or self.bdist_base
        rpm.dist_dir = rpm.dist_dir or self.dist_dir
        self.run_command("bdist_rpm")
        made = [f for cmd, _, f in self.distribution.dist_files if cmd == "bdist_rpm"]
        dist_dir = Path(self.dist_dir).resolve()
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            # alien and debhelper must own the files as root: fakeroot, unless root.
            state = work / "fakeroot.state"
            state.touch()
            fake = [] if self._uid == 0 else ["fakeroot", "-i", str(state), "-s", str(state)]
            alien = ["alien", "--generate", "--to-deb", "--keep-version", made[-1]]
            _run([*fake, *alien], work)
            tree = next(p for p in work.iterdir() if (p / "debian" / "rules").is_file())
            maintainer = f"{package['maintainer']} <{package['maintainer_email']}>"
            _edit(
                tree / "debian" / "control",
                {
                    "Maintainer:": f"Maintainer: {maintainer}",
                    "Section:": "Section: utils",
                    "Depends:": None,
                },
            )
            _edit(tree / "debian" / "rules", {"\t-dh_shlibdeps": None})
            with (tree / "debian" / "rules").open("a") as rules:
                rules.write("\noverride_dh_makeshlibs:\n")
            _run([*fake, "debian/rules", "binary"], tree)
            dist_dir.mkdir(parents=True, exist_ok=True)
            for deb in work.glob("*.deb"):
                target = dist_dir / deb.name
                shutil.move(deb, target)
                self.distribution.dist_files.append(("bdist_deb", "any", str(target)))


setup(
    name=app["target_name"],
    version=app["version"],
    description=package["description"],
    long_description=package["long_description"],
    maintainer=package["maintainer"],
    maintainer_email=package["maintainer_email"],
    license=package["license"],
    distclass=Distribution,
    cmdclass={"bdist_rpm": bdist_rpm, "bdist_deb": bdist_deb},
    options={
        "build_exe": {**build_exe, "path": [str(ROOT / "src"), *sys.path]},
        "bdist_rpm": {
            "release": package["release"],
            "group": "Applications/Productivity",
            "packager": f"{package['maintainer']} <{package['maintainer_email']}>",
            "quiet": True,  # rpmbuild: errors only
        },
    },
    executables=[Executable(str(ROOT / app["script"]), target_name=app["target_name"])],
)
