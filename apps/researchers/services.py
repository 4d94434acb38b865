"""Writes to researchers and institutions."""

from django.db import transaction

from .models import Affiliation, Institution, Researcher

RESEARCHER_FIELDS = ["given_name", "family_name", "orcid", "email", "member_since", "bio_nb", "bio_en"]


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


@transaction.atomic
def save_researcher(user, data, researcher=None):
    data = dict(data)
    affiliations = data.pop("affiliations", None)
    interests = data.pop("interests", None)
    if researcher is None:
        researcher = Researcher(created_by=_user(user))
    for field in RESEARCHER_FIELDS:
        if field in data:
            setattr(researcher, field, data[field])
    researcher.updated_by = _user(user)
    researcher.save()
    if interests is not None:
        researcher.interests.set(interests)
    if affiliations is not None:
        researcher.affiliations.all().delete()
        Affiliation.objects.bulk_create(Affiliation(researcher=researcher, **a) for a in affiliations)
    return researcher


@transaction.atomic
def delete_researcher(user, researcher):
    researcher.delete()


@transaction.atomic
def save_institution(user, data, institution=None):
    if institution is None:
        institution = Institution(created_by=_user(user))
    for field, value in data.items():
        setattr(institution, field, value)
    institution.updated_by = _user(user)
    institution.full_clean(exclude=["parent", "created_by", "updated_by"])
    institution.clean()
    institution.save()
    return institution


@transaction.atomic
def delete_institution(user, institution):
    institution.delete()
