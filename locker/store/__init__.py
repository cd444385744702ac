"""SQLite persistence through sqlmodel: tables, migrations and the repository."""
