from django.shortcuts import render

from apps.common.roles import is_curator


def page(request, template, context=None, nav=None, status=200):
    """Render a web page with what the layout needs (navigation state, the curator link)."""
    context = dict(context or {})
    context.setdefault("nav", nav)
    context["is_curator"] = is_curator(request.user)
    return render(request, template, context, status=status)
