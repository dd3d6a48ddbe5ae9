"""Job kinds: each kind is one module behind the small contract :class:`JobKind`.

A kind owns its typed spec (the request body, tagged by ``kind``), its typed result (the
job row's ``result``), the checks that need the database (:meth:`JobKind.admit`), how it
runs (:meth:`JobKind.run`, which also resumes a job whose runner died) and what its end
means (:meth:`JobKind.finish`). The runner (:mod:`tunecost.service.runner`) only claims jobs, keeps
their leases, heartbeats, relays cancellation and dispatches here; the API builds its
request body from :func:`spec_union`. Adding a kind is one module plus one line in
``_BUILTIN`` (or one :func:`register` call). See docs/ARCHITECTURE.md, "Job kinds".

The contract is :mod:`tunecost.service.kinds.base` (what kinds import) and the registry
:mod:`tunecost.service.kinds.registry` (what names them); this package re-exports both.
"""

from tunecost.service.kinds.base import (
    BestPoint,
    JobKind,
    Limits,
    Links,
    Outcome,
    Progress,
    RunContext,
)
from tunecost.service.kinds.registry import get, kinds, links, register, spec_union, unregister, warnings

__all__ = [
    "BestPoint",
    "JobKind",
    "Limits",
    "Links",
    "Outcome",
    "Progress",
    "RunContext",
    "get",
    "kinds",
    "links",
    "register",
    "spec_union",
    "unregister",
    "warnings",
]
