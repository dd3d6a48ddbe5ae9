"""The core that ties workers and searchers to the database: settings, models, jobs, runner."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("tunecost")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    VERSION = "0+unknown"
