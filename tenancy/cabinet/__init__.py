"""The admin as the owners' cabinet: who may sign in, which owner a request acts for, and the
owner-scoped ModelAdmin base every app's admin builds on."""
