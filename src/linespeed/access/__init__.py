"""Access: who may use the API, what they may do, how often, and what they did.

- `tokens`: bearer tokens created with a role (viewer < operator < engineer < admin) and,
  for operators, stations; stored hashed, revoked. `create_token`, `list_tokens`,
  `revoke_token`, `authenticate`, `require_role`, `check_stations`, and `active_token_ids`
  (which tokens of open live streams may still read them: the revocation/expiry hook).
- `audit`: the append-only audit log of write requests: `AuditRecord`, `record_writes`,
  `list_audit`, `cut_path`, `audit_engine` (its own connection pool).
- `ratelimit`: `RateLimiter`, a token bucket per client address for writes without a valid
  token, and `RefusalLog`, the tally of refusals.
- `errors`: `UnauthorizedError` (`auth.unauthorized`, HTTP 401) and `ForbiddenError`
  (`auth.forbidden`, HTTP 403); `TokenInputError` (`token.input`) and `AuditInputError`
  (`audit.input`) for bad arguments.

Access knows nothing of HTTP: the API (`linespeed.api`) maps its errors to statuses, and the
CLI's `token` and `audit` commands call it directly.
"""
