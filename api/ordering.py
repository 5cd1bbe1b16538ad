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
