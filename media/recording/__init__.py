"""Session recordings: consent, remuxing writers, manifests, crash recovery, access, retention."""
