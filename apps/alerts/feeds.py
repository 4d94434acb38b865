"""Atom feeds (RFC 4287) of the newest studies a search selects, with their published summaries."""

from __future__ import annotations

import re

from django.utils.feedgenerator import Atom1Feed, SimplerXMLGenerator
from django.utils.html import escape, linebreaks

from apps.summaries.models import Audience

AUTHOR = "ROP – Nasjonal kompetansetjeneste for samtidig rusmisbruk og psykisk lidelse (kb)"


#: Characters XML 1.0 cannot hold (C0 controls but tab, newline and return; lone surrogates; U+FFFE/U+FFFF).
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value):
    """``value`` without the characters XML 1.0 cannot hold (a title or a saved search's name may have them)."""
    return XML_INVALID.sub("", value) if isinstance(value, str) else value


class XMLSafeGenerator(SimplerXMLGenerator):
    """Django's feed writer, which raises on control characters, given text and attributes without them."""

    def characters(self, content):
        super().characters(xml_text(content))

    def startElement(self, name, attrs):
        super().startElement(name, {key: xml_text(value) for key, value in (attrs or {}).items()})


class StudyFeed(Atom1Feed):
    """Atom with an HTML ``content`` per entry (the abstract and the plain-language summaries) and a
    ``related`` link to the DOI. Characters XML cannot hold are left out rather than failing the feed."""

    def write(self, outfile, encoding):  # Atom1Feed.write with the XML-safe generator
        handler = XMLSafeGenerator(outfile, encoding, short_empty_elements=True)
        handler.startDocument()
        handler.startElement("feed", self.root_attributes())
        self.add_root_elements(handler)
        self.write_items(handler)
        handler.endElement("feed")

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item.get("content_html"):
            handler.addQuickElement("content", item["content_html"], {"type": "html"})
        if item.get("doi_url"):
            handler.addQuickElement("link", "", {"rel": "related", "href": item["doi_url"]})


def _content(study):
    parts = []
    where = ", ".join(p for p in [study.venue.name if study.venue else "", str(study.year or "")] if p)
    if where:
        parts.append(f"<p><em>{escape(where)}</em></p>")
    if study.retracted:
        parts.append("<p><strong>Retracted.</strong></p>")
    if study.abstract:
        parts.append(linebreaks(escape(study.abstract)))
    audiences = dict(Audience.choices)
    for summary in getattr(study, "published_summaries", []):
        parts.append(f"<h3>{escape(summary.title)} ({escape(audiences.get(summary.audience, summary.audience))}, "
                     f"{escape(summary.language)})</h3>")
        parts.append(linebreaks(escape(summary.body)))
        if summary.key_findings:
            parts.append(linebreaks(escape(summary.key_findings)))
        if summary.implications:
            parts.append(linebreaks(escape(summary.implications)))
    return "\n".join(parts)


def render_feed(request, title, subtitle, alternate_path, studies) -> bytes:
    self_url = request.build_absolute_uri()
    feed = StudyFeed(title=title, link=request.build_absolute_uri(alternate_path), description=subtitle,
                     feed_url=self_url, feed_guid=self_url, author_name=AUTHOR)
    for study in studies:
        summaries = getattr(study, "published_summaries", [])
        updated = max([study.updated_at, *[s.updated_at for s in summaries]])
        link = request.build_absolute_uri(f"/api/v1/studies/{study.pk}/")
        authors = "; ".join(a.name for a in study.authorships.all())
        feed.add_item(
            title=f"{study.title} ({study.year})" if study.year else study.title,
            link=link, unique_id=link, unique_id_is_permalink=True,
            description=study.abstract[:1000] if study.abstract else "",
            author_name=(authors[:300] + ("…" if len(authors) > 300 else "")) or None,
            pubdate=study.published_at or study.created_at, updateddate=updated,
            categories=[t.label_nb for t in study.topics.all()],
            content_html=_content(study),
            doi_url=f"https://doi.org/{study.doi}" if study.doi else None,
        )
    return feed.writeString("utf-8").encode("utf-8")
