from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render


@login_required
def home(request):
    """Send each person to where their work starts."""
    user = request.user
    if user.is_coordinator or user.is_admin_role:
        return redirect("engagements:dashboard")
    if user.is_finance:
        return redirect("payments:home")
    if getattr(user, "consultant", None) is not None:
        return redirect("portal:home")
    return render(request, "home.html")
