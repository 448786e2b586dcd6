"""Composition root: the one Functions app, assembled from the blueprints of every module.

Nothing but registration happens here. Function names are stored in orchestration history, so the names
the blueprints register (``candidate_pipeline``, ``interview``, ``batch_screening`` and the activities) must
never change while instances may be running.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from activities import (
    calls,
    document_intelligence,
    openai_structured,
    recordings,
    reports,
    scheduling,
    transcription,
)
from orchestrators import batch_screening, candidate_pipeline, interview, token_budget
from triggers import acs_callbacks, blob_intake, dashboard, event_grid, http_api

# Function keys by default; each HTTP route states its own level. Anonymous ones prove the caller otherwise:
# the ACS callback by the JWT ACS signs (plus a per-interview token), the dashboard by the Entra ID sign-in
# of App Service Authentication (its principal headers); health and openapi.json reveal nothing private.
# Telemetry is configured lazily by the first activity (activities/_common.py), so indexing never needs it.
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (
    candidate_pipeline.bp,
    interview.bp,
    batch_screening.bp,
    token_budget.bp,
    http_api.bp,
    blob_intake.bp,
    event_grid.bp,
    acs_callbacks.bp,
    dashboard.bp,
    calls.bp,
    document_intelligence.bp,
    openai_structured.bp,
    recordings.bp,
    reports.bp,
    scheduling.bp,
    transcription.bp,
):
    app.register_functions(blueprint)
