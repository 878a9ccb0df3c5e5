"""The supervisor's view: SLA risk and alerts, overload and hand-back, time outside the queue, mentors, coaching."""
from skillmatch.supervision.coaching import agent_view
from skillmatch.supervision.rules import SupervisionRules
from skillmatch.supervision.supervisor import Supervisor
from skillmatch.supervision.webhook import AlertNotifier, AlertWatcher

__all__ = ["AlertNotifier", "AlertWatcher", "SupervisionRules", "Supervisor", "agent_view"]
