"""ASGI entry point: HTTP through Django, WebSockets through Channels routing.

Served by uvicorn (see accounts/management/commands/run_lectern.py), which streams request
bodies to the application, so `RequestBodyLimit` can refuse an oversized one unread.
"""

import os
import tempfile

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lectern.settings")
# Settings pool database connections in an ASGI server (lectern/settings.py, DATABASES).
os.environ["LECTERN_ASGI"] = "1"
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from lectern.request_limits import RequestBodyLimit  # noqa: E402
from lectern.routing import websocket_urlpatterns  # noqa: E402

if settings.FILE_UPLOAD_TEMP_DIR:
    # Django's ASGI handler spools a request body over FILE_UPLOAD_MAX_MEMORY_SIZE to the
    # process's temporary folder, not FILE_UPLOAD_TEMP_DIR: send both to the same disk.
    os.makedirs(settings.FILE_UPLOAD_TEMP_DIR, exist_ok=True)
    tempfile.tempdir = str(settings.FILE_UPLOAD_TEMP_DIR)

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
