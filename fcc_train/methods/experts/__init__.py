"""Multi-expert methods (SADE, RIDE, NCL, BBN): their losses, FCC placements, SADE's test-time aggregation and
RIDE's expert router (``router.py``).

A multi-expert method trains a model of the multi-expert contract (:mod:`fcc_train.models.multi_expert`);
:meth:`MultiExpertMethod.expert_forward` replaces the single model's ``features → FCC → head`` inside the one
training step (:class:`fcc_train.train.forward.TrainForward`), and ``loss`` reads the experts' logits (E, N, C).
"""

from __future__ import annotations

from fcc_train.methods.experts.methods import EXPERT_METHODS, BBNMethod, MultiExpertMethod, build_expert_method

__all__ = ["EXPERT_METHODS", "BBNMethod", "MultiExpertMethod", "build_expert_method"]
