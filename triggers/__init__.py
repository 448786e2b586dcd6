"""Client functions: HTTP API, blob intake, Event Grid, ACS mid-call callbacks; each module has a ``bp``."""
