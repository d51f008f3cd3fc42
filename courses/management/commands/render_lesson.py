"""python manage.py render_lesson SOURCE -o OUT.mp4 [options]

SOURCE is a Markdown lesson folder or the id of a lesson in the database (its latest
version is rendered). Shows a progress bar, prints every warning and where each output
file is; a bad input ends with a one-line error and a non-zero exit status.

`--unlabelled --staff USERNAME` leaves out the visible AI-generated label over the opening:
only for an active staff user, checked before anything is rendered, and written to the
audit log (moderation.audit) before the render starts, so no such file exists unlogged.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from courses.voices import voice_settings
from synthesis.errors import RenderCancelled, SynthesisError
from synthesis.storyboard import RenderSettings, Storyboard, VoiceSettings

ENGINES = ("piper", "kokoro", "espeak", "gtts")
_SIZE = re.compile(r"^(\d+)x(\d+)$")


class Command(BaseCommand):
    help = "Render a lesson folder or a lesson from the database to an MP4 with its sidecar files."

    def add_arguments(self, parser):
        parser.add_argument("source", help="a lesson folder, or a lesson id")
        parser.add_argument("-o", "--output", required=True, type=Path, help="OUT.mp4")
        parser.add_argument("--lang", choices=["en", "zh"], help="default: from the lesson")
        parser.add_argument(
            "--engine",
            choices=ENGINES,
            help="use only this speech engine (default: LECTERN_TTS_ENGINES, per language)",
        )
        parser.add_argument("--voice", help="a voice name the engine knows")
        parser.add_argument("--rate", type=float, default=1.0, help="speech rate (1.0 normal)")
        parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT (default 1280x720)")
        parser.add_argument("--fps", type=int, default=30)
        parser.add_argument("--quality", choices=["draft", "standard", "high"], default="standard")
        burn = parser.add_mutually_exclusive_group()
        burn.add_argument(
            "--burn-captions",
            dest="burn_captions",
            action="store_true",
            default=True,
            help="captions burned into the pixels as well as the track (the default: an export)",
        )
        burn.add_argument(
            "--no-burn-captions",
            dest="burn_captions",
            action="store_false",
            help="captions as a track only",
        )
        parser.add_argument(
            "--device", choices=["auto", "cpu", "cuda"], default=settings.LECTERN_DEVICE
        )
        parser.add_argument("--max-scenes", type=int, help="render only the first N scenes")
        parser.add_argument(
            "--music", type=Path, help="an audio file to play quietly under the narration"
        )
        parser.add_argument(
            "--unlabelled",
            action="store_true",
            help="staff only, with --staff: no AI-generated label over the opening "
            "(written to the audit log)",
        )
        parser.add_argument(
            "--staff", metavar="USERNAME", help="the staff user asking for --unlabelled"
        )

    def handle(self, *args, source: str, output: Path, **options):
        from synthesis.render import render

        if output.suffix.lower() != ".mp4":
            raise CommandError(f"The output '{output}' must be an .mp4 file.")
        staff = _unlabelled_export_staff(options)
        render_settings = _render_settings(options)
        storyboard = _storyboard(source, language=options["lang"])
        if options["max_scenes"] is not None:
            if options["max_scenes"] < 1:
                raise CommandError("--max-scenes must be at least 1.")
            storyboard = replace(storyboard, scenes=storyboard.scenes[: options["max_scenes"]])
        if staff is not None:
            from moderation.audit import audit_unlabelled_export

            folder = Path(source)
            audit_unlabelled_export(
                staff=staff,
                source=str(folder.absolute()) if folder.is_dir() else f"lesson {source}",
                output=str(output.absolute()),
            )
        bar = tqdm(total=100, unit="%", bar_format="{desc:<34} {bar} {n:.0f}%{postfix}")
        try:
            result = render(
                storyboard,
                output,
                settings=render_settings,
                cache_dir=Path(settings.LECTERN_CACHE_DIR),
                progress=lambda report: _show(bar, report),
                cache_max_bytes=settings.LECTERN_CACHE_MAX_MB * 1024 * 1024,
                music=options["music"],
            )
        except RenderCancelled as error:
            raise CommandError("The render was cancelled.") from error
        except SynthesisError as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            # An unwritable output folder or a full disk: say which file, not a traceback.
            raise CommandError(f"{error.filename or output}: {error.strerror or error}") from error
        finally:
            bar.close()
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))
        if staff is not None:
            self.stdout.write(
                self.style.WARNING(
                    f"unlabelled: no AI-generated label over the opening, "
                    f"logged for {staff.get_username()}"
                )
            )
        statistics = result.manifest_data["statistics"]
        cache = statistics["cache"]
        self.stdout.write(
            f"Rendered {result.duration_s:.1f} s of video in {statistics['wall_s']:.1f} s "
            f"({cache['segments_encoded']} segments encoded, "
            f"{cache['scene_hits'] + cache['transition_hits']} reused)."
        )
        for label, path in (
            ("video", result.video),
            ("captions", result.captions),
            ("descriptions", result.descriptions),
            ("chapters", result.chapters),
            ("transcript", result.transcript),
            ("poster", result.poster),
            ("manifest", result.manifest),
        ):
            self.stdout.write(f"{label:>13}: {path}")


def _render_settings(options: dict) -> RenderSettings:
    match = _SIZE.match(options["size"].strip().lower())
    if not match:
        raise CommandError(f"--size '{options['size']}' is not WIDTHxHEIGHT, e.g. 1280x720.")
    if options["engine"]:
        voice = VoiceSettings(engines=(options["engine"],), voice=options["voice"])
    else:
        voice = voice_settings(voice=options["voice"] or "")
    voice = replace(voice, rate=options["rate"])
    render_settings = RenderSettings(
        width_px=int(match.group(1)),
        height_px=int(match.group(2)),
        fps=options["fps"],
        quality=options["quality"],
        burn_captions=options["burn_captions"],
        device=options["device"],
        voice=voice,
        ai_label=not options["unlabelled"],
    )
    from synthesis.render import validate_settings

    try:
        validate_settings(render_settings)
    except SynthesisError as error:
        raise CommandError(str(error)) from error
    return render_settings


def _unlabelled_export_staff(options: dict):
    """The active staff user an --unlabelled export is for; None without --unlabelled."""
    username = options["staff"]
    if not options["unlabelled"]:
        if username is not None:
            raise CommandError("--staff is only for --unlabelled.")
        return None
    if not username:
        raise CommandError(
            "--unlabelled needs --staff USERNAME: an export without the AI-generated label "
            "is for staff only, and is logged."
        )
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None or not (user.is_active and user.is_staff):
        raise CommandError(
            f"'{username}' is not an active staff user: an export without the AI-generated "
            "label is for staff only."
        )
    return user


def _storyboard(source: str, *, language: str | None) -> Storyboard:
    """The storyboard from a lesson folder, or from the latest version of a lesson id."""
    folder = Path(source)
    if folder.is_dir():
        from synthesis.markdown import import_lesson_folder

        try:
            return import_lesson_folder(folder, language=language)
        except SynthesisError as error:
            raise CommandError(f"{folder}: {error}") from error
    if source.isdigit():
        from courses.models import Lesson
        from courses.storyboards import storyboard_from_version

        lesson = Lesson.objects.filter(pk=int(source)).first()
        if lesson is None:
            raise CommandError(f"There is no lesson with id {source}.")
        version = lesson.latest_version
        if version is None:
            raise CommandError(f"Lesson {source} has no version to render.")
        return storyboard_from_version(version)
    if folder.exists():
        raise CommandError(f"'{source}' is a file; give a lesson folder or a lesson id.")
    raise CommandError(f"'{source}' is neither a lesson folder nor a lesson id.")


def _show(bar: tqdm, report) -> None:
    where = f" {report.scene_index}/{report.scene_count}" if report.scene_index else ""
    bar.set_description_str(f"{report.stage}{where}", refresh=False)
    if report.eta_s is not None:
        bar.set_postfix_str(f"{report.eta_s:.0f} s left", refresh=False)
    bar.n = report.percent
    bar.refresh()
