"""Errors of the jobs domain."""

from switchboard.core.errors import Conflict, Invalid, NotFound, RateLimited


class JobNotFound(NotFound):
    """No such job for this user."""

    default_code = "job_not_found"

    def __init__(self) -> None:
        super().__init__("Job not found")


class UnknownJobType(Invalid):
    """A job type no domain registered."""

    default_code = "unknown_job_type"


class InvalidJobParams(Invalid):
    """Parameters that the job type's schema refuses."""

    default_code = "invalid_job_params"


class JobStateConflict(Conflict):
    """The job is not in a state that allows this (retry a job that did not fail, ...)."""

    default_code = "job_state_conflict"


class ScheduleNotFound(NotFound):
    """No such schedule for this user."""

    default_code = "schedule_not_found"

    def __init__(self) -> None:
        super().__init__("Schedule not found")


class JobTypeNotPublic(Invalid):
    """A job type that only its own domain creates (it counts quotas or computes costs)."""

    default_code = "job_type_not_public"


class TooManyQueuedJobs(RateLimited):
    """The user already has as many pending and running jobs as the operator allows."""

    default_code = "too_many_queued_jobs"


class TooManySchedules(Conflict):
    """The user already has as many schedules as the operator allows."""

    default_code = "too_many_schedules"
