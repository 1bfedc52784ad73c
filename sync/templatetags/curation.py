"""``{% curation_dashboard as dashboard %}``: the admin index's data (sync.curation_admin)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def curation_dashboard(context: template.Context) -> dict[str, Any]:
    from sync.curation_admin import dashboard_context

    return dashboard_context(context["request"])
