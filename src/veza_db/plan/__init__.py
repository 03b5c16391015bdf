"""`veza-db plan`: the locks and rewrites of pending migrations, read on a scratch copy."""
