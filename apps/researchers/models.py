from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from apps.common.identifiers import is_valid_orcid, clean_orcid
from apps.common.models import Tracked


class HealthRegion(models.TextChoices):
    NORTH = "north", "Helse Nord"
    CENTRAL = "central", "Helse Midt-Norge"
    WEST = "west", "Helse Vest"
    SOUTH_EAST = "south-east", "Helse Sør-Øst"


class Institution(Tracked):
    """A university, health trust, division or service; ``parent`` makes the hierarchy."""

    name_nb = models.CharField("name (Norwegian)", max_length=300)
    name_en = models.CharField("name (English)", max_length=300, blank=True)
    short_name = models.CharField(max_length=50, blank=True)
    ror_id = models.CharField("ROR id", max_length=9, blank=True, default="",
                              help_text="The 9-character ROR identifier, e.g. 01xtthb56.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    city = models.CharField(max_length=100, blank=True)
    health_region = models.CharField(max_length=20, choices=HealthRegion.choices, blank=True)

    class Meta:
        ordering = ["name_nb"]
        constraints = [
            models.UniqueConstraint(fields=["ror_id"], condition=~Q(ror_id=""), name="institution_unique_ror"),
        ]
        indexes = [models.Index(Lower("name_nb"), name="institution_name_nb_lower")]

    def __str__(self):
        return f"{self.name_nb} ({self.short_name})" if self.short_name else self.name_nb

    def clean(self):
        node = self.parent
        while node is not None:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError({"parent": "An institution cannot be its own ancestor."})
            node = node.parent

    @classmethod
    def descendant_ids(cls, roots):
        ids, frontier = set(roots), set(roots)
        while frontier:
            frontier = set(cls.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - ids
            ids |= frontier
        return ids


def validate_orcid(value):
    if value and not is_valid_orcid(value):
        raise ValidationError("Not a valid ORCID iD (expected 0000-0000-0000-000X with a correct checksum).")


class Researcher(Tracked):
    given_name = models.CharField(max_length=150)
    family_name = models.CharField(max_length=150, db_index=True)
    orcid = models.CharField("ORCID iD", max_length=19, blank=True, default="", validators=[validate_orcid])
    email = models.EmailField(blank=True, help_text="Never shown publicly.")
    member_since = models.DateField("network member since", null=True, blank=True,
                                    help_text="Empty when the researcher is not a member of the network.")
    interests = models.ManyToManyField("topics.Topic", blank=True, related_name="researchers")
    bio_nb = models.TextField("short bio (Norwegian)", blank=True)
    bio_en = models.TextField("short bio (English)", blank=True)
    institutions = models.ManyToManyField(Institution, through="Affiliation", related_name="researchers", blank=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["orcid"], condition=~Q(orcid=""), name="researcher_unique_orcid"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return self.join_name(self.given_name, self.family_name)

    @staticmethod
    def join_name(given_name, family_name):
        """The displayed name from its parts (also for rows read as plain values)."""
        return f"{given_name} {family_name}".strip()

    @property
    def is_member(self):
        return self.member_since is not None

    def save(self, *args, **kwargs):
        self.orcid = clean_orcid(self.orcid) if self.orcid else ""
        super().save(*args, **kwargs)


class Affiliation(models.Model):
    class Role(models.TextChoices):
        RESEARCHER = "researcher", "Researcher"
        PHD_CANDIDATE = "phd_candidate", "PhD candidate"
        POSTDOC = "postdoc", "Postdoctoral fellow"
        PROFESSOR = "professor", "Professor"
        CLINICIAN = "clinician", "Clinician"
        LEADER = "leader", "Leader"
        OTHER = "other", "Other"

    researcher = models.ForeignKey(Researcher, on_delete=models.CASCADE, related_name="affiliations")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="affiliations")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RESEARCHER)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True, help_text="Empty while current.")

    class Meta:
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(start_date__isnull=True)
                                   | Q(end_date__gte=models.F("start_date")),
                                   name="affiliation_end_after_start"),
        ]

    def __str__(self):
        return f"{self.researcher} – {self.institution} ({self.get_role_display()})"

    @property
    def is_current(self):
        from django.utils import timezone

        return self.end_date is None or self.end_date >= timezone.localdate()

    def clean(self):
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date must not be before the start date."})
