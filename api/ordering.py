import re

from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class StrictOrderingFilter(OrderingFilter):
    """``?ordering=`` names only the view's ordering fields; anything else is a 400."""

    def get_ordering(self, request, queryset, view):
        params = request.query_params.getlist(self.ordering_param)
        if not params:
            return self.get_default_ordering(view)
        if len(params) > 1:
            raise ValidationError({self.ordering_param: ["Give one ordering, e.g. -date,id."]})
        allowed = {
            name for name, _label in self.get_valid_fields(queryset, view, {"request": request})
        }
        terms = [term.strip() for term in params[0].split(",")]
        wrong = [t for t in terms if t.lstrip("-") not in allowed]
        if wrong or not terms:
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Order by any of: {', '.join(sorted(allowed))} (prefix - to reverse)."
                    ]
                }
            )
        return terms

    def get_schema_operation_parameters(self, view):
        """The schema says what ``get_ordering`` takes: one or more of the view's
        ordering fields, each maybe prefixed with ``-``, separated by commas."""
        params = super().get_schema_operation_parameters(view)
        fields = sorted(self.get_ordering_fields(view))
        if not fields:
            return params
        term = f"-?(?:{'|'.join(re.escape(name) for name in fields)})"
        for param in params:
            if param["name"] == self.ordering_param:
                param["description"] = (
                    f"Order by any of: {', '.join(fields)}, separated by commas; "
                    "prefix - to reverse (e.g. -" + fields[0] + ")."
                )
                param["schema"] = {"type": "string", "pattern": f"^{term}(?:,{term})*$"}
        return params

    @staticmethod
    def get_ordering_fields(view) -> list[str]:
        fields = getattr(view, "ordering_fields", None) or []
        return [name for name in fields if isinstance(name, str)]
