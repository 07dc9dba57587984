"""Layer: server. Web pages: sign-in and sign-out (Django's auth views: sessions, CSRF, Argon2 hashes).

``/login/`` shows the form and signs in (POST with the CSRF token); ``/logout/`` signs out (POST only, with the
CSRF token: a link or an image elsewhere cannot sign anyone out). What each role may see is in ``scope``.

Guessing is slowed down: every failed sign-in is written to the audit log (``login_failed``: the username and a
keyed hash of the client, never the password), and after ``MAX_FAILURES`` failures for one username or from one
client within ``WINDOW`` the form refuses to check passwords (HTTP 429) until the window has passed. The count
lives in the database, so every server process sees the same one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import views as auth_views
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from server.province.models import AuditEntry
from server.web.public import client_hash
from server.web.scope import audit

#: Failed sign-ins for one username, or from one client, before the form stops checking passwords.
MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)


def _recent_failures(username: str, client: str) -> int:
    since = timezone.now() - WINDOW
    return int(
        AuditEntry.objects.filter(action="login_failed", at__gt=since)
        .filter(Q(detail__username=username) | Q(detail__client=client))
        .count()
    )


class ThrottledLoginView(auth_views.LoginView):  # type: ignore[misc]
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        client = client_hash(str(request.META.get("REMOTE_ADDR", "")))
        if _recent_failures(username, client) >= MAX_FAILURES:
            # An unbound form: the password is not checked at all (no Argon2 work for a guesser either).
            context = self.get_context_data(form=self.get_form_class()(request))
            context["throttled"] = _("Too many failed sign-ins: try again in 15 minutes.")
            response: HttpResponse = self.render_to_response(context, status=429)
            response["Retry-After"] = str(int(WINDOW.total_seconds()))
            return response
        result: HttpResponse = super().post(request, *args, **kwargs)
        if not request.user.is_authenticated:
            audit(request, "login_failed", username=username, client=client)
        return result


urlpatterns: list[URLPattern] = [
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
