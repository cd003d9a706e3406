"""Running brain's code as processes: one node here, or many under a supervisor; and
what any process that runs brain's code sets up first (logs, no telemetry)."""

from brain._children import die_with_parent
from brain._logging import configure as configure_logging
from brain._privacy import no_telemetry
from brain._runner import EXIT_FATAL, run_node
from brain._supervisor import ChildSpec, RestartPolicy, Supervisor

__all__ = [
    "EXIT_FATAL",
    "ChildSpec",
    "RestartPolicy",
    "Supervisor",
    "configure_logging",
    "die_with_parent",
    "no_telemetry",
    "run_node",
]
