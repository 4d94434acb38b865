"""apps.common.serializers.ParamsSerializer: shallow field copies give DRF's own values and errors."""

import pytest
from django.http import QueryDict
from rest_framework import serializers

from search.params import SearchParamsSerializer

pytestmark = pytest.mark.smoke


class DeepCopied(SearchParamsSerializer):
    """The same fields, copied as DRF copies them."""

    def get_fields(self):
        return serializers.Serializer.get_fields(self)


REQUESTS = [
    "q=treatment+housing&design=rct,cohort&page=2",
    "design=rct,nonsense",
    "q=bolig&language=nb,zz&researcher=1,x",
    "page=0&page_size=500&year_from=-1",
    "has_summary=maybe&sort=oldest&type=studies",
    "q=" + "x" * 1001,
    "q=act&study_type=report&institution=3&include_drafts=true&facets=false",
    "",
]


@pytest.mark.parametrize("order", [1, -1])
def test_values_and_errors_are_drfs_whatever_came_before(order):
    for query in REQUESTS[::order]:
        ours, theirs = SearchParamsSerializer(data=QueryDict(query)), DeepCopied(data=QueryDict(query))
        assert ours.is_valid() == theirs.is_valid(), query
        assert ours.errors == theirs.errors, query
        if not ours.errors:
            assert ours.validated_data == theirs.validated_data, query


def test_each_instance_has_fields_of_its_own():
    one, two = SearchParamsSerializer(data=QueryDict("page=2")), SearchParamsSerializer(data=QueryDict("page=x"))
    assert one.fields["page"] is not two.fields["page"]
    assert one.fields["page"].parent is one and two.fields["page"].parent is two
    assert one.is_valid() and not two.is_valid()
    assert one.validated_data["page"] == 2 and "page" in two.errors
    # the declared fields themselves are never bound to a request's serializer
    assert SearchParamsSerializer._declared_fields["page"].parent is None
