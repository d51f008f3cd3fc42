"""kt_evaluate RESPONSES.csv: fit the learner models on a response log and print their
held-out AUC and the one Lectern would choose, as the last line (JSON)."""

from __future__ import annotations

import csv
import json
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from learning.knowledge import Response, evaluate_models, split_students


def read_responses(path: str) -> tuple[list[Response], list[str] | None]:
    """Rows as Responses in file order, and the split column's values when there is one."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = [f.strip() for f in reader.fieldnames or []]
            missing = {"student", "concept", "correct"} - set(fields)
            if missing:
                raise CommandError(
                    _("%(path)s: the header lacks %(columns)s (student,concept,correct).")
                    % {"path": path, "columns": ", ".join(sorted(missing))}
                )
            responses, splits = [], []
            for line, row in enumerate(reader, start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                correct = row["correct"].lower()
                if correct not in ("0", "1", "true", "false"):
                    raise CommandError(
                        _("%(path)s line %(line)s: correct must be 0 or 1, not %(value)r.")
                        % {"path": path, "line": line, "value": row["correct"]}
                    )
                responses.append(
                    Response(row["student"], row["concept"], int(correct in ("1", "true")))
                )
                splits.append(row.get("split", "").lower())
    except OSError as error:
        raise CommandError(str(error)) from error
    return responses, (splits if "split" in fields else None)


class Command(BaseCommand):
    help = _("Fit the learner models on a response log and report their held-out AUC.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("responses", help=_("CSV with header student,concept,correct[,split]"))
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--train-fraction", type=float, default=0.8)

    def handle(self, *args, **options) -> None:
        responses, splits = read_responses(options["responses"])
        if not responses:
            raise CommandError(_("The response log has no rows."))
        if splits is not None:
            train = [r for r, s in zip(responses, splits, strict=True) if s == "train"]
            test = [r for r, s in zip(responses, splits, strict=True) if s == "test"]
        else:
            train, test = split_students(
                responses, train_fraction=options["train_fraction"], seed=options["seed"]
            )
        if not train or not test:
            raise CommandError(_("Both a training and a test part are needed."))
        started = time.perf_counter()
        evaluation, _models = evaluate_models(train, test)
        result = {**evaluation.as_dict(), "seconds": round(time.perf_counter() - started, 2)}
        self.stdout.write(
            _("%(train)s answers to fit, %(test)s held out; chosen: %(chosen)s")
            % {"train": len(train), "test": len(test), "chosen": evaluation.chosen}
        )
        self.stdout.write(json.dumps(result))
