from django.utils.functional import SimpleLazyObject

from accounts.navigation import navigation


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"roles": frozenset(), "nav_links": []}
    return {
        "roles": user.role_names,
        # Lazy: rendered only by pages that show the navigation.
        "nav_links": SimpleLazyObject(lambda: navigation(user, request.path)),
    }
