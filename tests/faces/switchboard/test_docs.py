"""docs/faces/switchboard.md lists every built-in job type with each of its parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from switchboard.core.analysis.schemas import AnalysisInput, AnalysisType
from switchboard.core.analysis.service import ANALYSIS_JOB
from switchboard.core.comfy.service import COMFY_GENERATION
from switchboard.core.comfy.tasks import ComfyGenerationParams
from switchboard.core.images.tasks import IMAGE_GENERATION, ImageGenerationParams
from switchboard.core.tasks.service import SPOONFEEDER_TASK
from switchboard.core.tasks.tasks import TaskJobParams

DOC = Path(__file__).resolve().parents[3] / "docs" / "faces" / "switchboard.md"
BUILT_IN: dict[str, type[BaseModel]] = {
    ANALYSIS_JOB: AnalysisInput,
    COMFY_GENERATION: ComfyGenerationParams,
    IMAGE_GENERATION: ImageGenerationParams,
    SPOONFEEDER_TASK: TaskJobParams,
}


def _row(job_type: str) -> str:
    rows = [line for line in DOC.read_text().splitlines() if line.startswith(f"| `{job_type}` |")]
    assert len(rows) == 1, f"docs/faces/switchboard.md has no row for job type {job_type}"
    return rows[0]


@pytest.mark.parametrize("job_type", sorted(BUILT_IN))
def test_each_built_in_job_type_has_a_row_naming_every_parameter(job_type: str) -> None:
    row = _row(job_type)
    for field in BUILT_IN[job_type].model_fields:
        assert f"`{field}`" in row, f"{job_type}: parameter {field} is not documented"


def test_the_analysis_row_lists_every_analysis_type() -> None:
    row = _row(ANALYSIS_JOB)
    for kind in AnalysisType:
        assert f"`{kind.value}`" in row
