"""The data port: copy an existing database's data into a fresh V1 database, nothing lost."""
