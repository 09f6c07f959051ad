"""The store: PostgreSQL connections, migrations, the loader that writes one report in one
transaction, and the embedded development cluster."""
