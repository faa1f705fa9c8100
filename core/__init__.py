"""The ground floor every app may use: Redis, shared rate limits, PII masking, Moscow time, DRF
building blocks, and the operational endpoints (health, metrics). Imports no project app."""
