"""Layer: server. The province app: the register of locations and kiosks, enrolment, and what kiosks send."""
