"""Layer: hardware. Empty until its issue lands."""
