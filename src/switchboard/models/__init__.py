"""ORM tables, one module per table; importing this package registers them all."""

from switchboard.kit.db import Base
from switchboard.models.api_key import ApiKey
from switchboard.models.auth_session import AuthSession
from switchboard.models.comfy_generation import ComfyGeneration
from switchboard.models.comfy_output import ComfyOutput
from switchboard.models.comfy_session import ComfySession
from switchboard.models.comfy_workflow import ComfyWorkflow
from switchboard.models.conversation import Conversation
from switchboard.models.identity import Identity
from switchboard.models.job import Job
from switchboard.models.job_schedule import JobSchedule
from switchboard.models.media_file import MediaFile
from switchboard.models.message import Message
from switchboard.models.provider_connection import ProviderConnection
from switchboard.models.query_log import QueryLog
from switchboard.models.refresh_token import RefreshToken
from switchboard.models.result import Result
from switchboard.models.saved_model import SavedModel
from switchboard.models.task import Task
from switchboard.models.usage_quota import UsageQuota
from switchboard.models.usage_record import UsageRecord
from switchboard.models.user import User

__all__ = [
    "ApiKey",
    "AuthSession",
    "Base",
    "ComfyGeneration",
    "ComfyOutput",
    "ComfySession",
    "ComfyWorkflow",
    "Conversation",
    "Identity",
    "Job",
    "JobSchedule",
    "MediaFile",
    "Message",
    "ProviderConnection",
    "QueryLog",
    "RefreshToken",
    "Result",
    "SavedModel",
    "Task",
    "UsageQuota",
    "UsageRecord",
    "User",
]
