"""SQLAlchemy 2 models. Alembic (``migrations/``) owns the schema.

Table names carry a ``tunecost_`` prefix because Optuna's RDB storage lives in the
same database and already owns ``trials``, ``studies`` and ``alembic_version``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from tunecost.search_spaces import GridSpace
from tunecost.service.states import JobState


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Job(Base):
    """One submitted job. ``kind`` names its module in :mod:`tunecost.service.kinds`; ``spec`` and
    ``result`` are that kind's typed models as JSON. ``task``, ``optimizer``, ``searcher`` and
    ``recipe_hash`` are set by kinds that train one (task, optimizer) and are null otherwise
    (a replay's subjects are its link rows: :class:`ReplayLandscape`, :class:`ReplaySearcher`)."""

    __tablename__ = "tunecost_jobs"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_tunecost_jobs_idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED, index=True)
    task: Mapped[str | None] = mapped_column(String(64), index=True)
    optimizer: Mapped[str | None] = mapped_column(String(64), index=True)
    searcher: Mapped[str | None] = mapped_column(String(64))
    recipe_hash: Mapped[str | None] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner: Mapped[str | None] = mapped_column(String(128))  # who submitted it
    # sha256 of (owner, the client's Idempotency-Key): a retried submission finds its job
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    runner_id: Mapped[str | None] = mapped_column(String(128))  # who holds the lease
    study_name: Mapped[str | None] = mapped_column(String(128))
    reference_error: Mapped[float | None] = mapped_column(Float)
    reference_source: Mapped[str | None] = mapped_column(String(32))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    trials: Mapped[list[Trial]] = relationship(
        back_populates="job", order_by="Trial.position", cascade="all, delete-orphan"
    )


class ReplayLandscape(Base):
    """A replay job's landscapes, in the order the job named them."""

    __tablename__ = "tunecost_replay_landscapes"

    job_id: Mapped[int] = mapped_column(ForeignKey("tunecost_jobs.id", ondelete="CASCADE"), primary_key=True)
    landscape_id: Mapped[int] = mapped_column(
        ForeignKey("tunecost_landscapes.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)


class ReplaySearcher(Base):
    """A replay job's searchers, in the order the job named them."""

    __tablename__ = "tunecost_replay_searchers"

    job_id: Mapped[int] = mapped_column(ForeignKey("tunecost_jobs.id", ondelete="CASCADE"), primary_key=True)
    searcher: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class Trial(Base):
    """One answered proposal of a job's searcher.

    ``number`` counts distinct evaluated configs (1, 2, ...); a proposal answered
    from the job's cache has ``cached = True`` and ``number = None``: it does not
    count as a trial (docs/ARCHITECTURE.md, "Trial count"). ``position`` orders every row.
    """

    __tablename__ = "tunecost_trials"
    __table_args__ = (Index("ix_tunecost_trials_job_position", "job_id", "position", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("tunecost_jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    number: Mapped[int | None] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    alpha: Mapped[float] = mapped_column(Float)
    epsilon: Mapped[float] = mapped_column(Float)
    error: Mapped[float | None] = mapped_column(Float)
    val_loss: Mapped[float | None] = mapped_column(Float)
    train_loss: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    diverged: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds: Mapped[float | None] = mapped_column(Float)
    best_so_far: Mapped[float | None] = mapped_column(Float)
    suboptimality: Mapped[float | None] = mapped_column(Float)
    optuna_trial_number: Mapped[int | None] = mapped_column(Integer)
    node_id: Mapped[str | None] = mapped_column(String(64))  # the Ray node that trained it
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    job: Mapped[Job] = relationship(back_populates="trials")


class Landscape(Base):
    """Validation error at every node of a grid for one (task, optimizer, recipe): the paper's Figure 1."""

    __tablename__ = "tunecost_landscapes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("tunecost_jobs.id", ondelete="SET NULL"))
    task: Mapped[str] = mapped_column(String(64), index=True)
    optimizer: Mapped[str] = mapped_column(String(64), index=True)
    recipe_hash: Mapped[str] = mapped_column(String(16))
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    space: Mapped[dict[str, Any]] = mapped_column(JSON)  # the grid: alphas, epsilons
    seeds: Mapped[list[int]] = mapped_column(JSON)  # every seed trained anywhere; points align to it
    sweep_seeds: Mapped[list[int] | None] = mapped_column(
        JSON
    )  # trained at every node (null: all of `seeds`)
    refine: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the refinement rule, if any
    fused: Mapped[bool] = mapped_column(Boolean, default=True)
    seconds: Mapped[float | None] = mapped_column(Float)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # versions, device, CPU; origin
    checksum: Mapped[str | None] = mapped_column(String(64))  # sha256 of the per-seed errors
    # what the scores measure, Metric.to_json() plus the failure score; null: validation error, %
    metric: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # e* measured apart from its selection: the best node, trained again with fresh seeds
    # ({"alpha_index", "epsilon_index", "alpha", "epsilon", "seeds", "errors", "error", "std"});
    # null: e* is the best mean node (selected and measured on the same seeds)
    reference: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    points: Mapped[list[LandscapePoint]] = relationship(
        back_populates="landscape",
        cascade="all, delete-orphan",
        order_by="(LandscapePoint.alpha_index, LandscapePoint.epsilon_index)",
    )

    @property
    def seeds_everywhere(self) -> list[int]:
        """The seeds trained at every node (a landscape from before refinement: all of them)."""
        return self.sweep_seeds if self.sweep_seeds is not None else self.seeds

    @property
    def fidelity(self) -> dict[str, Any] | None:
        """The successive-halving rule it was swept with (its provenance's; rungs last), None:
        every node at the recipe's epochs."""
        return (self.provenance or {}).get("fidelity")

    @property
    def compute(self) -> dict[str, Any] | None:
        """What its sweep trained (epochs, full_epochs, share, seconds); None for an import."""
        return (self.provenance or {}).get("compute")

    @property
    def full_fidelity(self) -> int | None:
        """A multi-fidelity landscape's last rung: the epochs of its full-fidelity nodes."""
        return None if self.fidelity is None else int(self.fidelity["rungs"][-1])

    @property
    def grid(self) -> GridSpace:
        """The stored grid, typed (sweeps store grids only)."""
        return GridSpace(tuple(self.space["alphas"]), tuple(self.space["epsilons"]), self.space.get("name"))


class LandscapePoint(Base):
    """One node: the mean validation error over the sweep's seeds, and its spread."""

    __tablename__ = "tunecost_landscape_points"
    __table_args__ = (
        Index(
            "ix_tunecost_landscape_points_node", "landscape_id", "alpha_index", "epsilon_index", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    landscape_id: Mapped[int] = mapped_column(ForeignKey("tunecost_landscapes.id", ondelete="CASCADE"))
    alpha_index: Mapped[int] = mapped_column(Integer)
    epsilon_index: Mapped[int] = mapped_column(Integer)
    alpha: Mapped[float] = mapped_column(Float)
    epsilon: Mapped[float] = mapped_column(Float)
    error: Mapped[float | None] = mapped_column(Float)  # mean over seeds; None where every seed failed
    error_std: Mapped[float | None] = mapped_column(Float)
    errors: Mapped[list[float | None]] = mapped_column(JSON)  # per seed, in the landscape's seed order
    diverged: Mapped[int] = mapped_column(Integer, default=0)  # seeds that diverged
    # per seed: the score after each epoch trained (its learning curve), and training seconds;
    # null for points stored before sweeps recorded them, [] / null where a seed did not train
    curves: Mapped[list[list[float]] | None] = mapped_column(JSON)
    seconds: Mapped[list[float | None] | None] = mapped_column(JSON)
    # the epochs of its schedule this node was trained to: the recipe's, or the successive-halving
    # rung it stopped at; null for an analytic task or a point stored before it was recorded
    epochs: Mapped[int | None] = mapped_column(Integer)

    landscape: Mapped[Landscape] = relationship(back_populates="points")


class SweepPair(Base):
    """One (seed, node) a sweep has trained to ``epochs`` of its schedule (the recipe's epochs,
    or a successive-halving rung; 0 for an analytic task), stored as its chunk arrives (one
    transaction per chunk): a sweep claimed again trains only the pairs it lacks, and writes
    its landscape from them once the last is in. ``elapsed``: seconds from the attempt's start of training
    to this chunk's arrival (a resumed sweep's wall-clock sums its attempts)."""

    __tablename__ = "tunecost_sweep_pairs"
    __table_args__ = (
        Index(
            "ix_tunecost_sweep_pairs_pair",
            "job_id",
            "seed",
            "alpha_index",
            "epsilon_index",
            "epochs",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("tunecost_jobs.id", ondelete="CASCADE"))
    seed: Mapped[int] = mapped_column(Integer)
    alpha_index: Mapped[int] = mapped_column(Integer)
    epsilon_index: Mapped[int] = mapped_column(Integer)
    epochs: Mapped[int] = mapped_column(Integer)
    error: Mapped[float] = mapped_column(Float)
    val_loss: Mapped[float | None] = mapped_column(Float)
    train_loss: Mapped[float | None] = mapped_column(Float)
    diverged: Mapped[bool] = mapped_column(Boolean)
    seconds: Mapped[float] = mapped_column(Float)
    epochs_run: Mapped[int] = mapped_column(Integer)
    # the epoch its training started from: 0, or the rung it continued from (its checkpoint);
    # epochs_run and seconds count from the start of the run, so this pair cost the difference
    from_epoch: Mapped[int] = mapped_column(Integer)
    curve: Mapped[list[float]] = mapped_column(JSON)
    worker: Mapped[dict[str, Any]] = mapped_column(JSON)  # torch, device, CPU, machine, Ray node
    attempt: Mapped[int] = mapped_column(Integer)
    elapsed: Mapped[float] = mapped_column(Float)


class ReplayRun(Base):
    """One searcher run (one seed) against a landscape: its curve and trials-to-delta."""

    __tablename__ = "tunecost_replay_results"
    __table_args__ = (Index("ix_tunecost_replay_results_job", "job_id", "landscape_id", "searcher"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("tunecost_jobs.id", ondelete="CASCADE"))
    landscape_id: Mapped[int] = mapped_column(ForeignKey("tunecost_landscapes.id", ondelete="CASCADE"))
    searcher: Mapped[str] = mapped_column(String(64))
    optimizer: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    budget: Mapped[int] = mapped_column(Integer)
    trials_to: Mapped[dict[str, int | None]] = mapped_column(
        JSON
    )  # {"0.5": 13, "1.0": 7}; None: not within budget
    curve: Mapped[list[float]] = mapped_column(JSON)  # suboptimality after t = 1..budget distinct trials
    # {"epochs": {delta: n}, "seconds": {...}, "wallclock": {...}, "totals": {...}, "pruned": n};
    # null for a run against a landscape without learning curves
    cost_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # distinct trials on nodes a successive-halving sweep stopped early; null: a full landscape
    stopped_trials: Mapped[int | None] = mapped_column(Integer)
    # the training seed whose landscape this run replayed (a replay with replicates); null: all
    replicate: Mapped[int | None] = mapped_column(Integer)
