"""The audit event: input validation, normalization, canonical form and hashes."""
