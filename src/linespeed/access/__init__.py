"""Access to the API: tokens, roles, the audit log and limits on who may write how often."""
