"""The older name of the ``honora`` template library, for templates that still load it."""

from engagements.templatetags.honora import register  # noqa: F401
