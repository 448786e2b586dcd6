"""hireflow's user-facing side: the local stack supervisor, the demo and the command-line client."""
