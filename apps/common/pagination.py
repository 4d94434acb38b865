from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Page-number pagination with a total count, next/previous links and a maximum page size."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
