"""Running Proeftuin at scale: Kubernetes rendering (`kubernetes`), backups (`backup`), migration to the scaled
backends (`migrate`) and the counts and checksums they compare (`inventory`). See docs/developer/kubernetes.md,
operations.md and migration.md; where rows and files live is `proeftuin.storage` (docs/developer/storage.md)."""
