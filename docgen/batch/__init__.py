"""Batch issuance from exam results: the issuing body's main job.

The one entry is :func:`run_batch` (``docgen batch``): a results file (CSV or XLSX, headers
in Chinese or English) and the candidates' photos become sealed certificates, exactly once —
rows checked and eligibility judged from the scores (:mod:`.eligibility`, rules in the kind
files), numbers allocated in the registry, certificates rendered and sealed on local
processes or a Dask cluster (:mod:`.worker`, :mod:`.runners`), registered as they finish,
and a manifest, a rejection report and one ZIP per applying unit written at the end.
:func:`write_sample_batch` makes a results file and photos to try it on.
"""

from __future__ import annotations

from .results import BatchInputError
from .running import BatchOptions, BatchSummary, batch_id_of, run_batch
from .samples import write_sample_batch

__all__ = [
    "BatchInputError",
    "BatchOptions",
    "BatchSummary",
    "batch_id_of",
    "run_batch",
    "write_sample_batch",
]
