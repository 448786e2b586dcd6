"""The three workloads every system runs, and their sizes.

W1 measures throughput of many small orchestrations started together, W2 the cost of one wide fan-out,
W3 the cost of one long sequential chain (where a replaying engine pays for re-running the whole history in
every episode, so it is compared against the SDK's replay alone).
"""

from __future__ import annotations

from dataclasses import dataclass

WORKLOADS: tuple[str, ...] = ("w1", "w2", "w3")


@dataclass(frozen=True)
class Sizes:
    """How big each workload is."""

    w1_orchestrations: int
    w1_chain_length: int
    w2_fan_out: int
    w3_chain_length: int

    def describe(self, workload: str) -> str:
        """One line saying what ``workload`` runs at these sizes."""
        if workload == "w1":
            return (
                f"W1: {self.w1_orchestrations} chains of {self.w1_chain_length} no-op activities, "
                "started at once (orchestrations/s, higher is better)"
            )
        if workload == "w2":
            return f"W2: one orchestration fanning out {self.w2_fan_out} no-op activities (seconds)"
        return f"W3: one chain of {self.w3_chain_length} no-op activities (seconds)"


SIZES: dict[str, Sizes] = {
    "full": Sizes(w1_orchestrations=300, w1_chain_length=5, w2_fan_out=500, w3_chain_length=200),
    "small": Sizes(w1_orchestrations=60, w1_chain_length=5, w2_fan_out=100, w3_chain_length=50),
    # Only for the smoke test: proves every system runs end to end, says nothing about speed.
    "tiny": Sizes(w1_orchestrations=4, w1_chain_length=2, w2_fan_out=4, w3_chain_length=3),
}

# Warm-up runs (imports, connection pools, code paths) happen in the same process before the timed run and are
# never timed. They are small so that they do not dominate a quick run.
WARM_UP = Sizes(w1_orchestrations=3, w1_chain_length=2, w2_fan_out=3, w3_chain_length=3)
