"""Staff pages about consultants (display names only; never the vault)."""

from django.shortcuts import render

from accounts.access import staff_required


@staff_required
def consultant_list(request):
    return render(request, "placeholder.html", {"title": "Consultants"})
