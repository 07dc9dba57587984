"""Layer: server. ``{{ code|label }}``: the words a page shows for the codes visits and kiosks carry (direction,
outcome, access policy, camera state), in the page's language; an unknown code is shown as it is."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

#: (kind of code, code) → label; the kind keeps "in" (a direction) apart from any other "in".
LABELS: dict[str, Any] = {
    "in": _("in"),
    "out": _("out"),
    "both": _("both ways"),
    "granted": _("let in"),
    "refused": _("refused"),
    "needs_guard": _("sent to the guard"),
    "log": _("record everyone"),
    "health": _("health certificate"),
    "allowlist": _("staff only"),
    "starting": _("starting"),
    "running": _("working"),
    "lost": _("not working"),
    "stopped": _("stopped"),
}


def label(code: Any) -> Any:
    if isinstance(code, str):
        return LABELS.get(code, code)
    return code


register.filter("label", label)
