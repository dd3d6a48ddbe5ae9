"""The ``sweep`` kind, one idea per module:

* :mod:`~tunecost.service.kinds.sweep.spec`: the request body (``SweepSpec``, ``Refine``,
  ``Reference``) and the result;
* :mod:`~tunecost.service.kinds.sweep.kind`: the kind (admit, progress, run, storing the landscape);
* :mod:`~tunecost.service.kinds.sweep.chunks`: the chunk scheduler, its pair store and checkpoints;
* :mod:`~tunecost.service.kinds.sweep.task`: the Ray task that trains one chunk.

Importing this package imports neither Ray nor torch.
"""

from tunecost.service.kinds.sweep.kind import KIND, SweepKind
from tunecost.service.kinds.sweep.spec import Reference, Refine, SweepResult, SweepSpec

__all__ = ["KIND", "Reference", "Refine", "SweepKind", "SweepResult", "SweepSpec"]
