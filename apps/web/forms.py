from django import forms
from django.utils.translation import gettext_lazy as _

from apps.studies.models import Study

from . import labels


class SummaryForm(forms.Form):
    audience = forms.ChoiceField(label=_("Audience"), choices=lambda: [(k, str(v)) for k, v in labels.AUDIENCES.items()])
    language = forms.ChoiceField(label=_("Language"), choices=[("nb", "Norsk bokmål"), ("en", "English")])
    title = forms.CharField(label=_("Title"), max_length=500)
    body = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 10}))
    key_findings = forms.CharField(label=_("Key findings"), required=False,
                                   help_text=_("One finding per line."), widget=forms.Textarea(attrs={"rows": 4}))
    implications = forms.CharField(label=_("Implications for practice"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 4}))
    studies = forms.ModelMultipleChoiceField(label=_("Studies summarised"), queryset=Study.objects.all(),
                                             widget=forms.MultipleHiddenInput)
    change_note = forms.CharField(label=_("What changed (kept with the published version)"), required=False,
                                  max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}-hint"

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["aria-invalid"] = "true"
                described = widget.attrs.get("aria-describedby", "")
                widget.attrs["aria-describedby"] = f"{described} id_{name}-error".strip()
