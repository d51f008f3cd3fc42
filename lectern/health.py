"""/healthz: one JSON report on every part Lectern needs (filled in by the foundation work)."""

from django.http import JsonResponse


def healthz(request):
    return JsonResponse({"status": "ok"})
