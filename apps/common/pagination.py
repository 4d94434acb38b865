from drf_spectacular.utils import OpenApiParameter
from rest_framework import pagination, serializers
from rest_framework.exceptions import ValidationError

MAX_PAGE = 2**31 - 1


class PageNumberPagination(pagination.PageNumberPagination):
    """Page-number pagination with a total count, next/previous links and a maximum page size.

    ``page`` and ``page_size`` that are not whole numbers in range answer 400 naming the parameter (DRF
    would quietly use the default page size, or answer 404); a page past the last one is a 404.
    """

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    last_page_strings = ()

    def get_page_size(self, request):
        return _whole_number(request, self.page_size_query_param, self.max_page_size) or self.page_size

    def paginate_queryset(self, queryset, request, view=None):
        _whole_number(request, self.page_query_param, MAX_PAGE)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        limits = {self.page_query_param: MAX_PAGE, self.page_size_query_param: self.max_page_size}
        for parameter in parameters:
            parameter["schema"].update(minimum=1, maximum=limits[parameter["name"]])
        return parameters


def _whole_number(request, name, maximum):
    raw = request.query_params.get(name)
    if raw is None or raw == "":  # an empty value is no value (allowEmptyValue in the schema)
        return None
    try:
        return serializers.IntegerField(min_value=1, max_value=maximum).run_validation(raw)
    except ValidationError as exc:
        raise ValidationError({name: exc.detail})


#: The paging parameters of a view that pages by hand (for ``extend_schema(parameters=...)``).
PAGE_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                     description="A page number within the paginated result set."),
    OpenApiParameter("page_size", {"type": "integer", "minimum": 1, "maximum": PageNumberPagination.max_page_size},
                     description="Number of results to return per page (at most 100)."),
]
