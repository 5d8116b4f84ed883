"""fcc_theory: an exact verifier for the decision-plane argument of FCC (CVPR 2023), Eqs. 5-9 and Fig. 3.

Pure Python with numpy/sympy/z3/hypothesis/matplotlib; it never imports torch.
"""

__version__ = "0.1.0"
