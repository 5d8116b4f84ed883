"""``fcc verify --certify DIR``: write every SMT-decided lemma and identity as SMT-LIB2, re-decide each file with
Z3 and with cvc5, write the Coq proofs, and record it all in ``DIR/manifest.json``.

A claim's certificate is ``certified`` only when, for every one of its files, both solvers return the answer
the verifier expects; a disagreement, a timeout or an error makes it ``unknown`` (never decided). Claims with no
SMT lemma (the interval-arithmetic ones) are certified by their exact witness, which ``fcc check`` replays.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

from fcc_theory.certify import coq
from fcc_theory.certify.queries import claim_queries
from fcc_theory.certify.smtlib import ANSWERS, to_smt2
from fcc_theory.certify.solvers import Answer, cvc5_decide_file, z3_decide_file

__all__ = ["ClaimCertificate", "certify"]


@dataclass
class ClaimCertificate:
    claim: str
    verdict: str  #: the verifier's verdict on the claim
    status: str  #: "certified", "witness" (no SMT file; the exact witness replays), "none" or "unknown"
    files: list[dict[str, Any]] = field(default_factory=list)
    coq: str = ""
    reason: str = ""

    def line(self) -> str:
        n = len(self.files)
        counts = ", ".join(
            f"{sum(f['expected'] == a for f in self.files)} {a}" for a in ANSWERS if any(f["expected"] == a for f in self.files)
        )
        smt = f"{n} SMT-LIB2 file(s), z3 and cvc5 both as expected ({counts})" if n else "no SMT lemma"
        if self.status == "witness":
            smt += "; its exact witness network replays with fcc check (see --witness-dir)"
        if self.status == "unknown":
            smt = f"{n} SMT-LIB2 file(s): {self.reason}"
        coq_part = f"; Coq: {self.coq}" if self.coq else ""
        return f"certificate {self.claim:<26} {self.status:<9} {smt}{coq_part}"


def _status(verdict: str, files: list[dict[str, Any]]) -> tuple[str, str]:
    bad = [f for f in files if not (f["expected"] in ANSWERS and f["z3"] == f["cvc5"] == f["expected"])]
    if bad:
        f = bad[0]
        return "unknown", f"{f['file']}: expected {f['expected']}, z3 {f['z3']}, cvc5 {f['cvc5']}"
    answers = {f["expected"] for f in files}
    if verdict == "proved" and answers != {"unsat"}:
        return "unknown", "the claim is proved but a file is satisfiable"
    if verdict == "refuted" and "sat" not in answers:
        return "unknown", "the claim is refuted but every file is unsat"
    return "certified", ""


def certify(results: Sequence[Any], out: Path, timeout_ms: int = 10_000) -> tuple[list[ClaimCertificate], float]:
    """Certificates for ``results`` (:class:`fcc_theory.claims.ClaimResult`) written under ``out``; returns them and the seconds."""
    t0 = time.perf_counter()
    smt_dir = out / "smt"
    smt_dir.mkdir(parents=True, exist_ok=True)
    certs: list[ClaimCertificate] = []
    witnesses: dict[str, dict[str, Fraction]] = {}
    for res in results:
        cid, verdict = res.claim.id, res.decision.verdict
        w = res.decision.witness
        if verdict == "refuted" and w is not None and {"s", "B", "tau"} <= set(w.point):
            witnesses[cid] = w.point
        files = []
        for q in claim_queries(cid):
            path = smt_dir / q.filename
            path.write_text(to_smt2(q), encoding="utf-8")
            a: Answer = z3_decide_file(path, timeout_ms)
            b: Answer = cvc5_decide_file(path, timeout_ms)
            files.append(
                {
                    "file": f"smt/{q.filename}",
                    "claim": cid,
                    "lemma": q.name,
                    "kind": q.kind,
                    "expected": q.expected,
                    "z3": a.answer,
                    "cvc5": b.answer,
                    "z3_seconds": round(a.seconds, 4),
                    "cvc5_seconds": round(b.seconds, 4),
                    **({"z3_detail": a.detail} if a.detail else {}),
                    **({"cvc5_detail": b.detail} if b.detail else {}),
                    **({"z3_model": a.model} if a.model else {}),
                }
            )
        if files:
            status, reason = _status(verdict, files)
        else:
            status, reason = ("witness", "") if w is not None else ("none", "")
        certs.append(ClaimCertificate(cid, verdict, status, files, coq.COQ_THEOREMS.get(cid, ""), reason))
    coq_paths = coq.write_coq(out / "coq", witnesses)
    checked = coq.check_with_coqc(coq_paths)
    manifest = {
        "solvers": ["z3", "cvc5"],
        "timeout_ms": timeout_ms,
        "claims": [
            {"claim": c.claim, "verdict": c.verdict, "certificate": c.status, "reason": c.reason, "coq": c.coq} for c in certs
        ],
        "files": [f for c in certs for f in c.files],
        "coq": {
            "files": [f"coq/{p.name}" for p in coq_paths],
            "coqc": checked if checked is not None else "coqc not found; run coqc DIR/coq/*.v",
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return certs, time.perf_counter() - t0
