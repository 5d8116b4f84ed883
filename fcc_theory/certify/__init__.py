"""Certificates for ``fcc verify --certify DIR``: SMT-LIB2 files re-decided by Z3 and cvc5, and Coq proofs."""
