"""The ``search`` kind, one idea per module (as Ray Tune keeps one wrapper per file):

* :mod:`~tunecost.service.kinds.search.spec`: the request body (``SearchSpec``) and the result;
* :mod:`~tunecost.service.kinds.search.kind`: the kind (admit, run, finish);
* :mod:`~tunecost.service.kinds.search.experiment`: the Ray Tune experiment that runs it (``run_search``);
* :mod:`~tunecost.service.kinds.search.searcher`: the caching searcher;
* :mod:`~tunecost.service.kinds.search.recorder`: the callback that writes each finished trial;
* :mod:`~tunecost.service.kinds.search.sampler`: the define-by-run space and the real-values sampler;
* :mod:`~tunecost.service.kinds.search.stopper`: the cancel stopper.

Importing this package imports neither Ray nor torch: the kind imports the experiment inside
``run``.
"""

from tunecost.service.kinds.search.kind import KIND, SearchKind
from tunecost.service.kinds.search.spec import SchedulerSpec, SearchResult, SearchSpec

__all__ = ["KIND", "SchedulerSpec", "SearchKind", "SearchResult", "SearchSpec"]
