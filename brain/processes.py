"""Running nodes as processes: one node in this process, or many under a supervisor."""

from brain._children import die_with_parent
from brain._runner import EXIT_FATAL, run_node
from brain._supervisor import ChildSpec, RestartPolicy, Supervisor

__all__ = ["EXIT_FATAL", "ChildSpec", "RestartPolicy", "Supervisor", "die_with_parent", "run_node"]
