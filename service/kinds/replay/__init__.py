"""The ``replay`` kind, one idea per module:

* :mod:`~tunecost.service.kinds.replay.spec`: the request body (``ReplaySpec``) and the result;
* :mod:`~tunecost.service.kinds.replay.kind`: the kind (admit, run, finish: the report);
* :mod:`~tunecost.service.kinds.replay.chunks`: the work cut into Ray tasks of about equal cost.

This package re-exports the spec and the chunking, not the kind: :mod:`tunecost.service.comparisons`
reads a replay's typed spec, and the kind writes its report through it. The registry names
the kind (``tunecost.service.kinds.replay.kind:KIND``).
"""

from tunecost.service.kinds.replay.chunks import CHUNKS_PER_CPU, balanced_chunks
from tunecost.service.kinds.replay.spec import ReplayResult, ReplaySpec

__all__ = ["CHUNKS_PER_CPU", "ReplayResult", "ReplaySpec", "balanced_chunks"]
