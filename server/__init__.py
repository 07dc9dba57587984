"""Layer: server. Empty until its issue lands."""
