"""What linespeed reads from its environment: URLs and the files that hold their passwords.

Every option that takes a URL also reads a `LINESPEED_...` variable, and every password can
come from a file named by a `..._PASSWORD_FILE` variable (a secret mounted by systemd's
`LoadCredential=`, Docker or Kubernetes), so no secret needs to be on a command line, where
`ps` shows it. docs/operations.md lists them all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import quote, urlsplit, urlunsplit

from linespeed.errors import LinespeedError

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

PREFIX: Final = "LINESPEED_"
DEFAULT_DB_URL: Final = "sqlite:///linespeed.db"
MAX_SECRET_BYTES: Final = 4096


class EnvironmentVariableError(LinespeedError):
    """A variable of the environment names a file that cannot be read, or holds no secret."""

    code = "environment.invalid"


def _settings_class() -> type[BaseSettings]:
    # pydantic-settings costs 30 to 150 ms to import: only commands that read the
    # environment for a URL or a password pay for it.
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class LinespeedEnvironment(BaseSettings):
        """The `LINESPEED_...` variables that name URLs and password files."""

        model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

        db: str | None = None
        db_password_file: Path | None = None
        mqtt_url: str | None = None
        mqtt_password_file: Path | None = None
        nats_url: str | None = None
        nats_password_file: Path | None = None

    return LinespeedEnvironment


def _needed(*names: str) -> bool:
    return any(PREFIX + name.upper() in os.environ for name in names)


def db_url(given: str | None) -> str:
    """The database URL: `given` (`--db`), else LINESPEED_DB, else the SQLite default, with
    the password from LINESPEED_DB_PASSWORD_FILE when the URL names a user but no password.

    Raises EnvironmentVariableError if that file cannot be read or holds no password.
    """
    return _resolved(given, "db") or DEFAULT_DB_URL


def mqtt_url(given: str | None) -> str | None:
    """The MQTT broker URL: `given`, else LINESPEED_MQTT_URL (None if neither), with the
    password from LINESPEED_MQTT_PASSWORD_FILE as for `db_url`."""
    return _resolved(given, "mqtt_url")


def nats_url(given: str | None) -> str | None:
    """The NATS server URL: `given`, else LINESPEED_NATS_URL (None if neither), with the
    password from LINESPEED_NATS_PASSWORD_FILE as for `db_url`."""
    return _resolved(given, "nats_url")


def _resolved(given: str | None, field: str) -> str | None:
    secret_field = field.removesuffix("_url") + "_password_file"
    if not _needed(secret_field) and (given is not None or not _needed(field)):
        return given
    environment = _settings_class()()
    url = given if given is not None else getattr(environment, field)
    if url is None:
        return None
    password_file: Path | None = getattr(environment, secret_field)
    if password_file is None:
        return str(url)
    return with_password(str(url), password_file, PREFIX + secret_field.upper())


def masked_url(url: str) -> str:
    """`url` with its password, if any, shown as `***` (for messages and logs); a password
    holding `@` is hidden whole."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, tail = rest.partition("/")
    user_info, at, host = authority.rpartition("@")
    if not at or ":" not in user_info:
        return url
    return f"{scheme}://{user_info.partition(':')[0]}:***@{host}{slash}{tail}"


def with_password(url: str, password_file: Path, variable: str) -> str:
    """`url` with the password held in `password_file` (its first line) if it names a user and
    no password; `url` as it is otherwise.

    Raises EnvironmentVariableError naming `variable` and the file if it cannot be read or is empty.
    """
    parts = urlsplit(url)
    if parts.username is None or parts.password is not None:
        return url
    try:
        with password_file.open("rb") as stream:
            text = stream.read(MAX_SECRET_BYTES + 1)
    except OSError as error:
        raise EnvironmentVariableError(
            f"{variable}: cannot read {password_file}: {error.strerror}"
        ) from None
    lines = text.decode("utf-8", "replace").splitlines()
    if len(text) > MAX_SECRET_BYTES or not lines or not lines[0]:
        raise EnvironmentVariableError(
            f"{variable}: {password_file} holds no password on its first line"
        )
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username}:{quote(lines[0], safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
