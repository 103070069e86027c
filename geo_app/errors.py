"""One family of errors for everything a user can be told.

Every error the system raises on purpose derives from :class:`GeoAppError`. Its message is written for the
person who gave the input — Vietnamese first, English after ``" / "`` — and says what was being done and what
to do next. Adapters need to know only this class: the command line prints the message and exits with
``exit_code`` (no traceback), the web answers with ``status``. A library's own exception (GEOS, GDAL, the XML
parser, SQLite) is caught where it happens and re-raised as one of these, with the library's text kept only
as a detail after the sentence.
"""
from __future__ import annotations


class GeoAppError(Exception):
    """An error meant for the user. ``status`` is the HTTP status, ``exit_code`` the CLI's."""

    status: int = 400
    exit_code: int = 1

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class InputError(GeoAppError, ValueError):
    """The user's input (a file, a parameter, a definition) cannot be used as given."""

    status = 422
    exit_code = 2


class SourceDataError(GeoAppError, RuntimeError):
    """A pinned source or the layer store built from it is missing, altered or inconsistent."""

    status = 503
    exit_code = 3


class ConflictError(GeoAppError, ValueError):
    """The action does not fit the current state (a version already confirmed, a stale edit)."""

    status = 409
    exit_code = 4


class ProcessingError(GeoAppError, RuntimeError):
    """The work itself failed (a dossier could not be written); the message says what was being done."""

    status = 500
    exit_code = 5
