from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services
from accounts.forms import ApiTokenForm
from accounts.models import ApiToken
from core.errors import DomainError
from core.forms import show_error


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


@login_required
def api_tokens(request):
    """Personal API tokens: create (shown once), list, revoke."""
    new_token = None
    max_days = services.max_token_days(request.user)
    form = ApiTokenForm(request.POST or None, max_days=max_days)
    if request.method == "POST" and "revoke" in request.POST:
        token = ApiToken.objects.filter(user=request.user, token_key=request.POST["revoke"]).first()
        if token is None:
            raise Http404
        services.api_token_revoke(token=token, by=request.user)
        messages.success(request, _("The token was revoked."))
        return redirect("api_tokens")
    if request.method == "POST" and form.is_valid():
        try:
            _row, new_token = services.api_token_create(
                user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
            )
            form = ApiTokenForm(max_days=max_days)
        except DomainError as exc:
            show_error(form, exc)
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created")
    response = render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": tokens, "new_token": new_token, "now": timezone.now()},
    )
    response["Cache-Control"] = "no-store"
    return response
