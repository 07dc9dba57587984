"""Layer: server. The province's web pages: sign-in and roles, the dashboard, signs of violation, tracing, location
QR boards and the public citizen report page. Server-rendered Django templates (``server/templates``), Vietnamese
by default and English complete (``server/locale``)."""
