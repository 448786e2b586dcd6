"""Durable orchestrators: one module per business process, each exposing a ``df.Blueprint`` named ``bp``."""
