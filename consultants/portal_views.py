"""The consultant's own portal: everything that concerns them, nothing else."""

from django.shortcuts import render

from accounts.access import consultant_required


@consultant_required
def home(request):
    return render(request, "placeholder.html", {"title": "Home"})


@consultant_required
def contributions(request):
    return render(request, "placeholder.html", {"title": "My work"})


@consultant_required
def log_hours(request):
    return render(request, "placeholder.html", {"title": "Log hours"})


@consultant_required
def payments(request):
    return render(request, "placeholder.html", {"title": "Payments"})


@consultant_required
def receipts(request):
    return render(request, "placeholder.html", {"title": "Receipts"})


@consultant_required
def preferences(request):
    return render(request, "placeholder.html", {"title": "Preferences"})
