"""Counterexample search for the decision-plane claims (``fcc search``): Hypothesis and a numpy falsifier.

* :mod:`.strategies` — fast Hypothesis strategies for exact rational networks, points and τ.
* :mod:`.properties` — one exact property per claim id of ``fcc verify``.
* :mod:`.runner` — the seeded Hypothesis engine (find, shrink, replay).
* :mod:`.falsifier` — batched float64 candidates, every hit re-checked in exact rationals.
"""
