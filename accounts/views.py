"""Sign-in, sign-up, joining a class and each role's home page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    return render(request, "accounts/home.html")
