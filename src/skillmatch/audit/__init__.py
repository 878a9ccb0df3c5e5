"""Cherry-pick audit: per-agent indicators from the events log and one index with uncertainty, for coaching."""
from skillmatch.audit.difficulty import TicketDifficulty, difficulty_from_model, fit_difficulty
from skillmatch.audit.files import AUDIT_FORMAT, read_audit, write_audit
from skillmatch.audit.run import LEGITIMATE, AuditResult, AuditSettings, check_audit_logs, run_audit

__all__ = ["AUDIT_FORMAT", "LEGITIMATE", "AuditResult", "AuditSettings", "TicketDifficulty", "check_audit_logs",
           "difficulty_from_model", "fit_difficulty", "read_audit", "run_audit", "write_audit"]
