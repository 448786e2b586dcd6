"""Loopback emulators of Azure OpenAI, Document Intelligence and ACS Call Automation (their REST protocols).

Generic: no hiring concepts in the protocol layer; the deterministic answers live in `emulators.brain`.
"""
