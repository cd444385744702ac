"""``make bench``: figures of the real service on this machine (issue 6)."""
