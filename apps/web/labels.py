"""Interface labels for the stored codes (types, designs, languages, audiences, roles), translated.

The models keep English labels for the API and the admin; the web pages show these instead.
"""

from django.utils.translation import gettext_lazy as _, pgettext_lazy

STUDY_TYPES = {
    "article": _("Journal article"), "book": _("Book"), "book_chapter": _("Book chapter"),
    "thesis": _("Thesis"), "report": _("Report"), "conference_paper": _("Conference paper"),
    "guideline": _("Guideline"), "dataset": _("Dataset"), "web_page": _("Web page"),
    "other": pgettext_lazy("study type", "Other"),
}

DESIGNS = {
    "systematic_review": _("Systematic review"), "meta_analysis": _("Meta-analysis"),
    "rct": _("Randomised controlled trial"), "cohort": _("Cohort study"),
    "case_control": _("Case-control study"), "cross_sectional": _("Cross-sectional study"),
    "qualitative": _("Qualitative study"), "mixed_methods": _("Mixed methods"),
    "case_report": _("Case report"), "guideline": _("Guideline"),
    "other": pgettext_lazy("study design", "Other"), "unknown": pgettext_lazy("study design", "Unknown"),
}

#: Short forms for the column heads of the evidence map.
DESIGNS_SHORT = {**DESIGNS, "rct": _("RCT"), "systematic_review": _("Systematic review"),
                 "cross_sectional": _("Cross-sectional")}

LANGUAGES = {
    "nb": _("Norwegian Bokmål"), "nn": _("Norwegian Nynorsk"), "no": _("Norwegian"), "en": _("English"),
    "sv": _("Swedish"), "da": _("Danish"), "fi": _("Finnish"), "is": _("Icelandic"), "de": _("German"),
    "fr": _("French"), "es": _("Spanish"), "it": _("Italian"), "nl": _("Dutch"), "pt": _("Portuguese"),
    "pl": _("Polish"), "ru": _("Russian"), "zh": _("Chinese"), "ja": _("Japanese"), "la": _("Latin"),
    "": pgettext_lazy("language", "Unknown"),
}

AUDIENCES = {
    "practitioners": _("Practitioners"), "users_relatives": _("Users and relatives"),
    "researchers": _("Researchers"),
}

SUMMARY_STATUSES = {
    "draft": _("Draft"), "in_review": _("In review"), "published": _("Published"), "archived": _("Archived"),
}

STUDY_STATUSES = {"draft": _("Draft"), "published": _("Published")}

ROLES = {
    "researcher": _("Researcher"), "phd_candidate": _("PhD candidate"), "postdoc": _("Postdoctoral fellow"),
    "professor": _("Professor"), "clinician": _("Clinician"), "leader": _("Leader"),
    "other": pgettext_lazy("role", "Other"),
}

SORTS = {
    "relevance": _("Relevance"), "newest": _("Newest first"), "oldest": _("Oldest first"),
    "title": _("Title (A–Å)"),
}

FACET_TITLES = {
    "year": _("Year"), "type": _("Type"), "design": _("Study design"), "topic": _("Topic"),
    "language": _("Language"), "researcher": _("Researcher"), "institution": _("Institution"),
}


def label(mapping, code):
    return str(mapping.get(code, code or ""))
