"""The published numbers (``docs/paper_results.csv``), looked up by what a table cell shows."""
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from tools.results.classify import VARIANT_LABELS, Method

PAPER_RESULTS = Path(__file__).resolve().parents[2] / "docs" / "paper_results.csv"


@dataclass(frozen=True)
class PaperValue:
    value: float
    table: str  # "Table 3", "Fig. 3", ...
    source: str
    note: str = ""


class PaperResults:
    """The published numbers of ``docs/paper_results.csv``, looked up by what a cell shows."""

    def __init__(self, rows: Iterable[Dict[str, str]]):
        self._values: Dict[Tuple, PaperValue] = {}
        for row in rows:
            shots = row.get("shots", "").strip()
            key = (row["experiment"], row["trainer"], row.get("variant", ""), row["dataset"],
                   int(shots) if shots else None, row["metric"])
            value = PaperValue(float(row["value"]), row["table"], row["source"], row.get("note", ""))
            old = self._values.get(key)
            if old is None or (old.table.startswith("Fig") and not value.table.startswith("Fig")):
                self._values[key] = value

    @classmethod
    def load(cls, path=PAPER_RESULTS) -> "PaperResults":
        with open(path, newline="", encoding="utf-8") as f:
            return cls(csv.DictReader(f))

    def get(self, experiment: str, method: Method, dataset: str, shots: Optional[int],
            metric: str = "accuracy", variant: Optional[str] = None) -> Optional[PaperValue]:
        """The published number for a cell, or None. Only ViT-B/16 (or unknown) backbones match."""
        if method.backbone not in ("", "ViT-B/16") or method.untrained or method.eval_only:
            return None
        if variant is None:  # the paper's name of the variant: its loss terms, else the script's name
            variant = "woHL" if method.loss == "ce" else method.variant if method.variant in VARIANT_LABELS \
                else "" if not (method.variant or method.loss) else None
            if variant is None:
                return None
        for k in ((shots, None) if shots is not None else (None,)):
            hit = self._values.get((experiment, method.trainer, variant, dataset, k, metric))
            if hit is not None:
                return hit
        return None

    def trainers(self, experiment: str) -> List[str]:
        return sorted({key[1] for key in self._values if key[0] == experiment})

    def __len__(self):
        return len(self._values)

