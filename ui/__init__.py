"""Layer: ui. Empty until its issue lands."""
