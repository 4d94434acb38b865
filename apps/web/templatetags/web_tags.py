from django import template
from django.utils import formats
from django.utils.translation import get_language, gettext as _

from .. import labels
from ..highlight import safe_fragment
from ..topics import topic_label as _topic_label

register = template.Library()


@register.filter
def study_title(study):
    """A study's title, or for an incomplete draft without one "[uten tittel] author, venue, year" in the
    page's language (``Study.display_title``)."""
    return study.title or study.untitled_title(_("[untitled]"))


@register.filter
def marked(fragment):
    """A highlight fragment from the search backend, with only its <mark> tags kept as HTML."""
    return safe_fragment(fragment)


@register.filter
def num(value):
    """A count with the interface language's digit grouping (12 345 in Norwegian, 12,345 in English)."""
    if value in (None, ""):
        return ""
    return formats.number_format(value, force_grouping=True)


@register.filter
def type_label(code):
    return labels.label(labels.STUDY_TYPES, code)


@register.filter
def design_label(code):
    return labels.label(labels.DESIGNS, code)


@register.filter
def language_label(code):
    return labels.label(labels.LANGUAGES, code)


@register.filter
def audience_label(code):
    return labels.label(labels.AUDIENCES, code)


@register.filter
def role_label(code):
    return labels.label(labels.ROLES, code)


@register.filter
def summary_status_label(code):
    return labels.label(labels.SUMMARY_STATUSES, code)


@register.filter
def topic_label(topic):
    return _topic_label(topic)


@register.filter
def in_language(obj, stem):
    """``researcher|in_language:"bio"`` -> bio_nb or bio_en by the interface language (the other as fallback)."""
    first, second = ("nb", "en") if (get_language() or "nb") == "nb" else ("en", "nb")
    return getattr(obj, f"{stem}_{first}", "") or getattr(obj, f"{stem}_{second}", "")


@register.filter
def lines(text):
    """Non-empty lines of a text (key findings are written one per line)."""
    return [line.strip(" -•\t") for line in (text or "").splitlines() if line.strip(" -•\t")]
