"""The migration runner: discover -> validate -> plan -> lock -> apply, one transaction per file."""
