"""The decorator that keeps every public call's failures inside the exception tree.

Its own module, so that defining a public class costs no import of :mod:`sqlite3`
or of the error translation (:mod:`frozen_alembic._errors`), which load only when
something fails.
"""

from __future__ import annotations

import os

from ._exceptions import FrozenAlembicError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import ParamSpec, TypeVar

    P = ParamSpec("P")
    R = TypeVar("R")
    PathArg = str | os.PathLike[str]


def public(doing: str, *, scripts: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a public function so that only :class:`FrozenAlembicError` leaves it.

    The path, for the message, is the first ``str``/``PathLike`` argument.

    :param scripts: the path is a script directory, not a database: failures are
        :class:`ScriptsError` (an app catching ``DatabaseError`` must not blame the
        user's document for its own install).
    """
    import functools

    from ._exceptions import ScriptsError

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except FrozenAlembicError:
                raise
            except (TypeError, ValueError):
                raise  # a caller's mistake (a wrong argument), not a failure
            except Exception as err:
                from ._errors import translate

                translated = translate(err, _path_in(args, kwargs), doing)
                if scripts:
                    raise ScriptsError(str(translated)) from err
                raise translated from err

        return wrapper

    return decorate


def _path_in(args: tuple[object, ...], kwargs: dict[str, object]) -> PathArg | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, (str, os.PathLike)):
            return value
    return None
