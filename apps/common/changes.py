"""Whether a write would change a stored row: lets idempotent loaders skip saves that change nothing.

A save sends ``post_save``, and the search signals then queue re-indexing of everything the row
shows in (a topic: all its studies), so saving an unchanged row is not free.
"""


def differs(stored, values: dict) -> bool:
    """Whether setting ``values`` (model field name -> value, foreign keys as instances or None) on
    ``stored`` would change its row. The values pass through the model's ``normalize()`` where it has
    one, so an identifier written in another form than the canonical stored one counts as unchanged."""
    probe = type(stored)(**values)
    if hasattr(probe, "normalize"):
        probe.normalize()
    return any(getattr(probe, field.attname) != getattr(stored, field.attname)
               for field in stored._meta.concrete_fields if field.name in values)
