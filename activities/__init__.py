"""Activities: thin adapters over one external system each; every module exposes a blueprint ``bp``."""
