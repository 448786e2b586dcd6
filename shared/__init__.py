"""Settings, models, errors, retry policies, prompts, client factories and pure decisions of the pipeline."""
