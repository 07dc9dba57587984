"""Layer: server. Web pages: sign-in and sign-out (Django's auth views: sessions, CSRF, Argon2 hashes).

``/login/`` shows the form and signs in (POST with the CSRF token); ``/logout/`` signs out (POST only, with the
CSRF token: a link or an image elsewhere cannot sign anyone out). What each role may see is in ``scope``.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path

urlpatterns: list[URLPattern] = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
