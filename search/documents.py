"""Elasticsearch index documents (elasticsearch-dsl). Analyzers are referenced by name; their
definitions come from ``search/es_analysis.py``, chosen for what the cluster has."""

from elasticsearch_dsl import (
    Boolean, Completion, Date, DenseVector, Document, InnerDoc, Integer, Keyword, Long, MetaField, Object,  # noqa: F401
    Text,
)

NB, NB_FOLDED, EN, NAME = "kb_norwegian", "kb_norwegian_folded", "kb_english", "kb_name"


def prose(highlighted=False, **kwargs):
    """A text field searched in Norwegian, English, and folded (æøå typed as a/o/ae).

    A ``highlighted`` field (and its two analyses) keeps each word's character offsets in the index, so
    the highlighter reads them instead of analysing the text again three times (measured at 100k
    studies: highlighting 30 studies' titles and abstracts 20-23 -> 11-19 ms, the index +17 %)."""
    extra = {"index_options": "offsets"} if highlighted else {}
    return Text(analyzer=NB, fields={"en": Text(analyzer=EN, **extra), "folded": Text(analyzer=NB_FOLDED, **extra)},
                **extra, **kwargs)


def name_field(**kwargs):
    return Text(analyzer=NAME, fields={"raw": Keyword(normalizer="kb_keyword"),
                                       "simple": Text(analyzer="kb_name_simple")}, **kwargs)


class StudyDocument(Document):
    id = Long()
    title = prose(highlighted=True, copy_to="spell")
    subtitle = prose()
    abstract = prose(highlighted=True, copy_to="spell")
    keywords = prose(copy_to="spell")
    topic_labels = prose(copy_to="spell")
    authors = name_field()
    author_family_names = name_field()
    venue = prose()
    publisher = Text(analyzer=NAME)
    summary_text = prose()
    spell = Text(analyzer="kb_spell")
    title_sort = Keyword(normalizer="kb_keyword")
    # title autocompletion: any word of the title by its beginning, the words typed before it whole.
    # The words' beginnings (2-10 characters) are indexed as terms of their own, in on-disk postings;
    # the completion field this replaced (the title and five word suffixes per study) held an FST on
    # the heap, 499 MB at 1M studies, more than the development node's whole heap
    title_suggest = Text(analyzer=NAME, index_prefixes={"min_chars": 2, "max_chars": 10})
    researcher_ids = Long()
    institution_ids = Long()
    topic_ids = Long()
    year = Integer()
    month = Integer()
    type = Keyword()
    design = Keyword()
    language = Keyword()
    doi = Keyword()
    pmid = Keyword()
    isbn = Keyword()
    status = Keyword()
    retracted = Boolean()
    has_summary = Boolean()
    created_at = Date()
    # the study's sentence embedding (title + abstract) and the model that made it; the number of
    # dimensions is taken from the first vector, so another model needs only a rebuild (HNSW, cosine)
    # float HNSW rather than 8.19's default int8_hnsw: on SciFact the quantised graph lost Norwegian
    # hybrid quality (nDCG@10 0.510 vs 0.542 with exact search on the database backend); 100k x 384
    # floats are 150 MB
    vector = DenseVector(index=True, similarity="cosine", index_options={"type": "hnsw"})
    vector_model = Keyword()
    digest = Keyword(index=False)

    class Meta:
        # kb never reads a vector back from the index (search reads them from the database, a rebuild
        # writes them from there), so they are left out of the stored source: at 100k studies that is
        # most of the index's size, and every fetched or highlighted hit had its vector decompressed
        source = MetaField(excludes=["vector"])

    class Index:
        name = "studies"


class ResearcherDocument(Document):
    id = Long()
    name = name_field()
    given_name = name_field()
    family_name = name_field()
    orcid = Keyword()
    affiliations = prose()
    interests = prose()
    bio = prose()
    institution_ids = Long()
    topic_ids = Long()
    member = Boolean()
    suggest = Completion(analyzer=NAME)
    digest = Keyword(index=False)

    class Index:
        name = "researchers"


class SummaryDocument(Document):
    id = Long()
    title = prose(highlighted=True)
    body = prose(highlighted=True)
    key_findings = prose()
    implications = prose()
    study_titles = prose()
    audience = Keyword()
    language = Keyword()
    study_ids = Long()
    published_at = Date()
    digest = Keyword(index=False)

    class Index:
        name = "summaries"


DOCUMENTS = {"studies": StudyDocument, "researchers": ResearcherDocument, "summaries": SummaryDocument}
