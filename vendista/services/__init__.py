"""Vendista work per owner, one module per concern. Views, admin actions, commands and Celery
tasks call these:

- `account`: API clients from the stored credentials, tokens, and the payment-status (402) flow;
- `lock`: the per-owner Redis lock that keeps an owner's runs from overlapping;
- `runs`: import windows, queued runs (created, queued, executed page by page, finished);
- `sync`: terminal sync (new terminals get default containers, missing ones are deactivated).
"""
