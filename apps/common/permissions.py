from rest_framework.permissions import SAFE_METHODS, BasePermission

from .roles import is_admin, is_curator


class CuratorWriteOrReadOnly(BasePermission):
    """Anyone reads (what the queryset lets them see); curators and admins write."""

    message = "Only curators may change content."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or is_curator(request.user)


class IsCurator(BasePermission):
    message = "Only curators may do this."

    def has_permission(self, request, view):
        return is_curator(request.user)


class IsAdmin(BasePermission):
    message = "Only administrators may do this."

    def has_permission(self, request, view):
        return is_admin(request.user)
