"""Database backends of the project (the ENGINE `config.env.env_database_url` names)."""
