"""The audit trail: who changed what and when, before and after, personal data masked."""
