"""The custom status an orchestration publishes at every step: ``{stage, progress, ...}``.

Custom status is stored with every episode, so it stays small: scores and references, never documents or
personal data. Progress comes from the pure stage→progress function in ``shared.decisions``.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from shared.decisions import stage_progress
from shared.models import PipelineStatus, Stage


class StatusTracker:
    """Holds an orchestration's current :class:`PipelineStatus` and republishes it on every change."""

    def __init__(self, context: df.DurableOrchestrationContext, job_id: str) -> None:
        self._context = context
        self.current = PipelineStatus(
            stage=Stage.RECEIVED, progress=stage_progress(Stage.RECEIVED), job_id=job_id
        )

    def update(self, stage: Stage | None = None, **fields: Any) -> PipelineStatus:
        """Move to ``stage`` (if given), merge ``fields``, stamp the orchestration time and publish."""
        changes: dict[str, Any] = dict(fields)
        if stage is not None:
            changes["stage"] = stage
            changes["progress"] = stage_progress(stage)
            if "detail" not in fields:
                changes["detail"] = None
        # current_utc_datetime is the replay-safe clock: the same value on every replay of this episode.
        changes["updated_at"] = self._context.current_utc_datetime
        self.current = self.current.model_copy(update=changes)
        self._context.set_custom_status(self.current.model_dump(mode="json", exclude_none=True))
        return self.current
