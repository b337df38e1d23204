"""PluginMind's request bodies (its `AnalysisRequest` and the Google sign-in body).

Inputs forbid unknown fields; every failure is the one 422
`INVALID_INPUT` the original answers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from switchboard.core.analysis.schemas import MAX_USER_INPUT, AnalysisType

MAX_ID_TOKEN = 8192


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AnalysisRequest(_Strict):
    """`/process` and `/analyze-async`: trimmed input, an optional analysis type.

    A missing `analysis_type` means crypto and an explicit null means custom, as in the
    original backend.
    """

    user_input: str = Field(min_length=1, max_length=MAX_USER_INPUT)
    analysis_type: AnalysisType | None = AnalysisType.CRYPTO


class LegacyAnalyzeRequest(_Strict):
    """`/analyze`: only `user_input` matters; the analysis is always crypto."""

    user_input: str = Field(min_length=1, max_length=MAX_USER_INPUT)
    analysis_type: AnalysisType | None = None  # accepted and ignored, as the original did


class GoogleSignInRequest(_Strict):
    """`/auth/google`: the ID token Google Identity Services gave the browser."""

    id_token: str = Field(min_length=1, max_length=MAX_ID_TOKEN)
