from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import get_language

from apps.researchers.models import Institution

from .. import features
from ..topics import flat_tree, topic_label
from .common import page

FILTERS = ("topic", "institution", "year_from", "year_to", "members_only", "min_weight")


def network(request):
    """The co-author network of the members; the drawing is fed by the network API with these filters."""
    chosen = {k: request.GET.get(k, "").strip() for k in FILTERS}
    api_params = urlencode({k: v for k, v in chosen.items() if v})
    language = get_language() or "nb"
    institutions = Institution.objects.order_by("name_nb").only("id", "name_nb", "short_name", "parent_id")
    return page(request, "web/network.html", {
        "chosen": chosen,
        "topics": [(t.slug, "\u00a0\u00a0" * depth + topic_label(t, language)) for t, depth in flat_tree()],
        "institutions": [(str(i.pk), str(i)) for i in institutions],
        "api_url": reverse("v1:network") + (f"?{api_params}" if api_params else "") if features.has_network_api() else None,
        "filtered": any(chosen.values()),
    }, nav="network")
