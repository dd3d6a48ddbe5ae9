"""The ``search`` kind, one idea per module (as Ray Tune keeps one wrapper per file):

* :mod:`~service.kinds.search.spec`: the request body (``SearchSpec``) and the result;
* :mod:`~service.kinds.search.kind`: the kind (admit, run, finish);
* :mod:`~service.kinds.search.experiment`: the Ray Tune experiment that runs it (``run_search``);
* :mod:`~service.kinds.search.searcher`: the caching searcher;
* :mod:`~service.kinds.search.recorder`: the callback that writes each finished trial;
* :mod:`~service.kinds.search.sampler`: the define-by-run space and the real-values sampler;
* :mod:`~service.kinds.search.stopper`: the cancel stopper.

Importing this package imports neither Ray nor torch: the kind imports the experiment inside
``run``.
"""

from service.kinds.search.kind import KIND, SearchKind
from service.kinds.search.spec import SchedulerSpec, SearchResult, SearchSpec

__all__ = ["KIND", "SchedulerSpec", "SearchKind", "SearchResult", "SearchSpec"]
