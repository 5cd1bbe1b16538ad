"""Coordinator pages: thin views over engagements.services and selectors."""

from django.shortcuts import render

from accounts.access import coordinator_required, staff_required


@staff_required
def dashboard(request):
    return render(request, "placeholder.html", {"title": "Dashboard"})


@staff_required
def contribution_list(request):
    return render(request, "placeholder.html", {"title": "Contributions"})


@coordinator_required
def log_start(request):
    return render(request, "placeholder.html", {"title": "Log work"})


@coordinator_required
def review(request):
    return render(request, "placeholder.html", {"title": "Review"})


@coordinator_required
def dispute_list(request):
    return render(request, "placeholder.html", {"title": "Disputes"})


@coordinator_required
def import_contributions(request):
    return render(request, "placeholder.html", {"title": "Import"})
