(* The paper's 3-3-2 network (hidden a = W(τx) + b, linear; outputs y = N a + z) and its identities
   Eq. 5, Eq. 6, Eq. 8 and η − τη′ = (1 − τ)B, proved by ring over Coq's reals (fcc_theory/symbolic.py
   checks the same identities with SymPy; AffineNetwork.v proves the reduction for any depth and widths). *)
Require Import Reals Lra.
Open Scope R_scope.

Section Network332.
Variables w11 w12 w13 w21 w22 w23 w31 w32 w33 b1 b2 b3 : R.
Variables n11 n12 n13 n21 n22 n23 z1 z2 x1 x2 x3 tau : R.

(* the network, layer by layer, at the input (c·x1, c·x2, c·x3) *)
Definition a1 c := w11 * (c * x1) + w12 * (c * x2) + w13 * (c * x3) + b1.
Definition a2 c := w21 * (c * x1) + w22 * (c * x2) + w23 * (c * x3) + b2.
Definition a3 c := w31 * (c * x1) + w32 * (c * x2) + w33 * (c * x3) + b3.
Definition y1 c := n11 * a1 c + n12 * a2 c + n13 * a3 c + z1.
Definition y2 c := n21 * a1 c + n22 * a2 c + n23 * a3 c + z2.

Definition eta := y1 tau - y2 tau.      (* margin at τx *)
Definition eta' := y1 1 - y2 1.         (* margin at x *)

(* the paper's quantities as typed on the slides *)
Definition X1 := w11 * x1 + w12 * x2 + w13 * x3.
Definition X2 := w21 * x1 + w22 * x2 + w23 * x3.
Definition X3 := w31 * x1 + w32 * x2 + w33 * x3.
Definition k1 := n11 - n21.
Definition k2 := n12 - n22.
Definition k3 := n13 - n23.
Definition B := n11 * b1 + n12 * b2 + n13 * b3 + z1 - (n21 * b1 + n22 * b2 + n23 * b3 + z2).

(* Eq. 5: y_i = Σ_j n_ij (τ w_j1 x1 + τ w_j2 x2 + τ w_j3 x3) + n_ij b_j + z_i *)
Theorem eq5 :
  y1 tau = n11 * (tau * w11 * x1 + tau * w12 * x2 + tau * w13 * x3) + n11 * b1
         + n12 * (tau * w21 * x1 + tau * w22 * x2 + tau * w23 * x3) + n12 * b2
         + n13 * (tau * w31 * x1 + tau * w32 * x2 + tau * w33 * x3) + n13 * b3 + z1 /\
  y2 tau = n21 * (tau * w11 * x1 + tau * w12 * x2 + tau * w13 * x3) + n21 * b1
         + n22 * (tau * w21 * x1 + tau * w22 * x2 + tau * w23 * x3) + n22 * b2
         + n23 * (tau * w31 * x1 + tau * w32 * x2 + tau * w33 * x3) + n23 * b3 + z2.
Proof. unfold y1, y2, a1, a2, a3; split; ring. Qed.

(* B is the margin at the input 0, X_j the hidden unit j without its bias *)
Theorem derived_quantities : B = y1 0 - y2 0 /\ X1 = a1 1 - a1 0 /\ X2 = a2 1 - a2 0 /\ X3 = a3 1 - a3 0.
Proof. unfold B, y1, y2, X1, X2, X3, a1, a2, a3; repeat split; ring. Qed.

(* Eq. 6: η = τk1X1 + τk2X2 + τk3X3 + B *)
Theorem eq6 : eta = tau * k1 * X1 + tau * k2 * X2 + tau * k3 * X3 + B.
Proof. unfold eta, y1, y2, a1, a2, a3, k1, k2, k3, X1, X2, X3, B; ring. Qed.

(* Eq. 8: η′ = k1X1 + k2X2 + k3X3 + B *)
Theorem eq8 : eta' = k1 * X1 + k2 * X2 + k3 * X3 + B.
Proof. unfold eta', y1, y2, a1, a2, a3, k1, k2, k3, X1, X2, X3, B; ring. Qed.

(* the reduction with s = Σ k_j X_j, and the key identity η = τη′ + (1 − τ)B *)
Definition s := k1 * X1 + k2 * X2 + k3 * X3.
Theorem reduction : eta = tau * s + B /\ eta' = s + B.
Proof. unfold s; rewrite eq6, eq8; split; ring. Qed.

Theorem key_identity : eta - tau * eta' = (1 - tau) * B.
Proof. rewrite eq6, eq8; ring. Qed.

(* Eqs. 7 and 9 as identities (B ≠ 0, d_j = −k_j/B): η = −B(τ Σ d_j X_j − 1), η′ = −B(Σ d_j X_j − 1) *)
Theorem eq7_identity : B <> 0 ->
  eta = - B * (tau * ((- k1 / B) * X1 + (- k2 / B) * X2 + (- k3 / B) * X3) - 1).
Proof. intro HB; rewrite eq6; field; exact HB. Qed.

Theorem eq9_identity : B <> 0 -> eta' = - B * (((- k1 / B) * X1 + (- k2 / B) * X2 + (- k3 / B) * X3) - 1).
Proof. intro HB; rewrite eq8; field; exact HB. Qed.
End Network332.
