"""Two independent SMT solvers re-decide an SMT-LIB2 file: Z3 and cvc5 (both from PyPI), each parsing the file itself.

An answer is ``sat``, ``unsat`` or ``unknown``; a timeout, a resource limit or a parse error is ``unknown``
(with the reason in ``detail``), never a decision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cvc5
import z3

__all__ = ["Answer", "cvc5_decide_file", "z3_decide_file"]


@dataclass(frozen=True)
class Answer:
    solver: str
    answer: str  #: "sat", "unsat" or "unknown"
    seconds: float
    detail: str = ""
    model: str = ""


def z3_decide_file(path: Path, timeout_ms: int = 10_000) -> Answer:
    """Z3 parses ``path`` (its assertions) into a fresh context and checks them."""
    t0 = time.perf_counter()
    try:
        s = z3.Solver(ctx=z3.Context())
        s.set("timeout", int(timeout_ms))
        s.from_file(str(path))
        r = s.check()
    except z3.Z3Exception as exc:
        return Answer("z3", "unknown", time.perf_counter() - t0, f"z3 error: {exc}")
    secs = time.perf_counter() - t0
    if r == z3.sat:
        return Answer("z3", "sat", secs, model=s.model().sexpr())
    if r == z3.unsat:
        return Answer("z3", "unsat", secs)
    return Answer("z3", "unknown", secs, s.reason_unknown())


def cvc5_decide_file(path: Path, timeout_ms: int = 10_000) -> Answer:
    """cvc5's own SMT-LIB2 parser runs every command of ``path``; the answer is what ``(check-sat)`` printed."""
    t0 = time.perf_counter()
    solver = cvc5.Solver()
    solver.setOption("tlimit-per", str(int(timeout_ms)))
    symbols = cvc5.SymbolManager(solver)
    parser = cvc5.InputParser(solver, symbols)
    outputs: list[str] = []
    try:
        parser.setFileInput(cvc5.InputLanguage.SMT_LIB_2_6, str(path))
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            out = cmd.invoke(solver, symbols)
            if out:
                outputs.append(out.strip())
    except RuntimeError as exc:  # cvc5 raises RuntimeError (CVC5ApiException) on a parse or solver error
        return Answer("cvc5", "unknown", time.perf_counter() - t0, f"cvc5 error: {exc}")
    secs = time.perf_counter() - t0
    first = outputs[0] if outputs else ""
    answer = first if first in ("sat", "unsat") else "unknown"
    return Answer("cvc5", answer, secs, "" if answer != "unknown" else first or "no answer", "\n".join(outputs[1:]))
