"""Running Proeftuin at scale: Kubernetes rendering (`kubernetes`), backups (`backup`) and migration to the
scaled backends (`migrate`). See docs/developer/operations.md."""
