"""Finance pages. Payout batches arrive with the payments work."""

from django.shortcuts import render

from accounts.access import finance_required


@finance_required
def home(request):
    return render(request, "payments/home.html")
