"""A replay's report: every figure goes to the drawer it is given (a runner draws them at once on
its workers), and the files are the same whichever draws them, in whatever order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunecost.search_spaces import GridSpace
from tunecost.service.analysis.comparison import Subject, build
from tunecost.service.analysis.replay import Board, replay
from tunecost.service.analysis.report import Draw, draw_here, write_files


def _comparison():  # type: ignore[no-untyped-def]
    grid = GridSpace(tuple(10.0 ** np.linspace(-4, 0, 5)), tuple(10.0 ** np.linspace(-8, 0, 5)))
    a, e = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
    bowls = {1: 3.0 + ((a - 2) ** 2 + (e - 1) ** 2) / 2.0, 2: 3.5 + ((a - 1) ** 2 + (e - 3) ** 2) / 4.0}
    subjects = [
        Subject(i, "t", name, name, "validation error", "%", "points", bowls[i], [0])
        for i, name in ((1, "adam"), (2, "avagrad"))
    ]
    groups = {
        (i, searcher): [
            replay(searcher, Board(grid=grid, errors=bowls[i]), s, 12, [0.5, 1.0]) for s in range(6)
        ]
        for i in (1, 2)
        for searcher in ("random", "gld")
    }
    return build(1, [0.5, 1.0], subjects, groups)


def test_every_figure_goes_to_the_drawer_and_the_files_do_not_depend_on_who_draws(tmp_path: Path) -> None:
    comparison = _comparison()
    handed: list[Draw] = []

    def backwards(draws: list[Draw]) -> None:  # as a cluster may finish them: any order
        handed.extend(draws)
        draw_here(list(reversed(draws)))

    here = write_files(comparison, [], tmp_path / "here", task="t", seeds=6, budget=12)
    there = write_files(comparison, [], tmp_path / "there", task="t", seeds=6, budget=12, draw=backwards)
    assert [p.name for p in here] == [p.name for p in there]
    names = {p.name for p in there}
    # the curves and one trials-to figure per delta, each as PNG and SVG
    assert {"suboptimality_curves.png", "trials_to_0.5.svg", "trials_to_1.png"} <= names
    assert len(handed) == 3 and all(Path(args[0]).parent == tmp_path / "there" for _, args, _ in handed)
    assert all(p.stat().st_size > 1_000 for p in there if p.suffix == ".png")
