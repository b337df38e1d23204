"""Job types: each domain registers its handlers from its `tasks.py`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from switchboard.core.jobs.errors import InvalidJobParams, JobTypeNotPublic, UnknownJobType

if TYPE_CHECKING:
    from switchboard.core.jobs.context import JobContext

Handler = Callable[["JobContext", Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class JobType:
    """A kind of background work: its parameter schema, its handler and its limits.

    The handler receives the job's context and its validated parameters and returns the
    result to store. It must be idempotent: delivery is at least once.

    A `public` type may be created (and scheduled) by clients through the native jobs API
    with `params` alone. Types whose domain counts a quota or computes a cost when it
    creates them stay private: clients reach them through that domain's own routes.
    """

    name: str
    params: type[BaseModel]
    handler: Handler
    max_attempts: int = 3
    timeout_seconds: float = 600.0
    public: bool = False


class JobRegistry:
    """Job types by name."""

    def __init__(self) -> None:
        self._types: dict[str, JobType] = {}

    def register(self, job_type: JobType) -> None:
        """Add a job type; registering a name twice is a programming error."""
        if job_type.name in self._types:
            raise ValueError(f"job type {job_type.name!r} is already registered")
        self._types[job_type.name] = job_type

    def get(self, name: str) -> JobType:
        """The job type called `name`; `UnknownJobType` when there is none."""
        job_type = self._types.get(name)
        if job_type is None:
            raise UnknownJobType(f"Unknown job type '{name}'", param="type")
        return job_type

    def public(self, name: str) -> JobType:
        """The job type called `name` if clients may create it; else `JobTypeNotPublic`."""
        job_type = self.get(name)
        if not job_type.public:
            raise JobTypeNotPublic(
                f"Jobs of type '{name}' are created through their own endpoints", param="type"
            )
        return job_type

    def validate(self, name: str, params: dict[str, Any]) -> BaseModel:
        """The parameters parsed by the type's schema; `InvalidJobParams` when they do not fit."""
        try:
            return self.get(name).params.model_validate(params)
        except ValidationError as exc:
            errors = exc.errors()
            where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
            message = errors[0]["msg"] if errors else "invalid parameters"
            raise InvalidJobParams(
                f"Invalid parameters: {where}: {message}" if where else message, param=where
            ) from None

    def names(self) -> list[str]:
        """Every registered type name."""
        return sorted(self._types)
