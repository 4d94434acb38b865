from django.contrib import admin

from .models import Affiliation, Institution, Researcher


class AffiliationInline(admin.TabularInline):
    model = Affiliation
    extra = 0
    autocomplete_fields = ["institution"]


@admin.register(Researcher)
class ResearcherAdmin(admin.ModelAdmin):
    list_display = ["family_name", "given_name", "orcid", "member_since"]
    list_filter = [("member_since", admin.EmptyFieldListFilter), "affiliations__institution", "interests"]
    search_fields = ["family_name", "given_name", "orcid", "email"]
    autocomplete_fields = ["interests"]
    inlines = [AffiliationInline]
    readonly_fields = ["created_at", "updated_at", "created_by", "updated_by"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name_nb", "name_en", "short_name", "parent", "health_region", "ror_id"]
    list_filter = ["health_region"]
    search_fields = ["name_nb", "name_en", "short_name", "ror_id"]
    autocomplete_fields = ["parent"]
