"""Composition root: the one Functions app, assembled from the blueprints of every module.

Nothing but registration happens here. Function names are stored in orchestration history, so the names
the blueprints register (``candidate_pipeline``, ``interview``, ``batch_screening`` and the activities) must
never change while instances may be running.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from orchestrators import batch_screening, candidate_pipeline, interview

# Anonymous at the app level: the HTTP API endpoints declare their own level, and the ACS callback endpoint
# authenticates with the secret in its URL (ACS cannot send a function key header).
app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (candidate_pipeline.bp, interview.bp, batch_screening.bp):
    app.register_functions(blueprint)
