(* The (s, B, τ) lemmas of a class pair, over Coq's reals, in the division-free forms the verifier decides
   (fcc_theory/lemmas.py): η = τs + B is the margin y1 − y2 at τx, η′ = s + B the margin at x.
   AffineNetwork.v proves this reduction for every affine network; Identity.v for the paper's 3-3-2 one. *)
Require Import Reals Lra Psatz.
Open Scope R_scope.

Definition eta (t s B : R) := t * s + B.
Definition eta' (s B : R) := s + B.
Definition sign_agree (p q : R) := (p > 0 /\ q > 0) \/ (p < 0 /\ q < 0) \/ (p = 0 /\ q = 0).

Theorem key_identity : forall t s B, eta t s B = t * eta' s B + (1 - t) * B.
Proof. intros; unfold eta, eta'; ring. Qed.

(* claim b_zero: B = 0, τ > 0 ⇒ sign(η) = sign(η′) *)
Theorem b_zero : forall t s B, B = 0 -> t > 0 -> sign_agree (eta t s B) (eta' s B).
Proof.
  intros t s B HB Ht; subst B; unfold sign_agree, eta, eta'.
  destruct (Rtotal_order s 0) as [H | [H | H]]; [right; left | right; right | left]; split; nra.
Qed.

(* claim target_b_nonneg: τ > 1, B ≥ 0, η > 0 ⇒ η′ > 0 *)
Theorem target_b_nonneg : forall t s B, t > 1 -> B >= 0 -> eta t s B > 0 -> eta' s B > 0.
Proof. intros t s B Ht HB He; unfold eta, eta' in *; nra. Qed.

(* claim failure_set: for τ > 1, {η > 0 ∧ η′ ≤ 0} = {B < 0 ∧ τs > −B ∧ s ≤ −B} (i.e. −B/τ < s ≤ −B) *)
Definition failure_region (t s B : R) := B < 0 /\ t * s > - B /\ s <= - B.

Theorem failure_set : forall t s B, t > 1 ->
  (eta t s B > 0 /\ eta' s B <= 0 <-> failure_region t s B).
Proof.
  intros t s B Ht; unfold eta, eta', failure_region; split.
  - intros [He Hp]; repeat split; nra.
  - intros [HB [Hs Hs']]; split; lra.
Qed.

(* claim characterization: for every τ > 0, sign agreement ⇔ s on the same side of −B and of −B/τ *)
Definition division_free_agree (t s B : R) :=
  (s < - B /\ t * s < - B) \/ (s > - B /\ t * s > - B) \/ (s = - B /\ t * s = - B).

Theorem characterization : forall t s B, t > 0 ->
  (sign_agree (eta t s B) (eta' s B) <-> division_free_agree t s B).
Proof.
  intros t s B Ht; unfold sign_agree, division_free_agree, eta, eta'; split.
  - intros [[H1 H2] | [[H1 H2] | [H1 H2]]]; [right; left | left | right; right]; split; lra.
  - intros [[H1 H2] | [[H1 H2] | [H1 H2]]]; [right; left | left | right; right]; split; lra.
Qed.

(* claim tau_zero: τ = 0 ⇒ η = B, and sign agreement ⇔ sign(B) = sign(s + B) *)
Theorem tau_zero : forall t s B, t = 0 ->
  eta t s B = B /\ (sign_agree (eta t s B) (eta' s B) <-> sign_agree B (s + B)).
Proof.
  intros t s B Ht; subst t; unfold eta, eta'.
  replace (0 * s + B) with B by ring; split; [reflexivity | tauto].
Qed.

(* claim tau_negative: τ < 0 ⇒ (agree ⇔ s strictly between −B and −B/τ, or B = s = 0);
   and B = 0, s ≠ 0 ⇒ opposite signs *)
Lemma below_threshold : forall t s B, t < 0 -> (s < - B / t <-> t * s > - B).
Proof.
  intros t s B Ht; assert (E : t * (- B / t) = - B) by (field; lra).
  set (d := - B / t) in *; split; intro H; nra.
Qed.

Lemma above_threshold : forall t s B, t < 0 -> (- B / t < s <-> t * s < - B).
Proof.
  intros t s B Ht; assert (E : t * (- B / t) = - B) by (field; lra).
  set (d := - B / t) in *; split; intro H; nra.
Qed.

Definition strictly_between (s a c : R) := (a < s /\ s < c) \/ (c < s /\ s < a).

Theorem tau_negative : forall t s B, t < 0 ->
  (sign_agree (eta t s B) (eta' s B) <-> strictly_between s (- B) (- B / t) \/ (B = 0 /\ s = 0)).
Proof.
  intros t s B Ht; unfold sign_agree, strictly_between, eta, eta'.
  pose proof (below_threshold t s B Ht) as Hb; pose proof (above_threshold t s B Ht) as Ha; split.
  - intros [[H1 H2] | [[H1 H2] | [H1 H2]]].
    + left; left; split; [lra | apply Hb; lra].
    + left; right; split; [apply Ha; lra | lra].
    + right; assert (HB : B * (t - 1) = 0) by nra.
      destruct (Rmult_integral _ _ HB) as [H0 | H0]; [split; lra | lra].
  - intros [[[H1 H2] | [H1 H2]] | [H1 H2]].
    + left; apply Hb in H2; split; lra.
    + right; left; apply Ha in H1; split; lra.
    + right; right; subst; split; ring.
Qed.

Theorem tau_negative_b_zero : forall t s B, t < 0 -> B = 0 -> s <> 0 -> eta t s B * eta' s B < 0.
Proof.
  intros t s B Ht HB Hs; subst B; unfold eta, eta'.
  assert (0 < s * s) by (destruct (Rtotal_order s 0) as [H | [H | H]]; [nra | contradiction | nra]); nra.
Qed.

(* Eqs. 7 and 9 (B ≠ 0, d·X = −s/B): η > 0 ⇔ τd·X > 1 when B < 0, ⇔ τd·X < 1 when B > 0; η′ = 0 ⇔ d·X = 1 *)
Theorem eq7 : forall t s B, B <> 0 ->
  (B < 0 -> (eta t s B > 0 <-> t * (- s / B) > 1)) /\ (B > 0 -> (eta t s B > 0 <-> t * (- s / B) < 1)).
Proof.
  intros t s B HB; unfold eta.
  assert (E : t * (- s / B) * B = - (t * s)) by (field; exact HB).
  set (u := t * (- s / B)) in *; split; intro Hs; split; intro H; nra.
Qed.

Theorem eq9 : forall s B, B <> 0 -> (eta' s B = 0 <-> - s / B = 1).
Proof.
  intros s B HB; unfold eta'.
  assert (E : (- s / B) * B = - s) by (field; exact HB).
  set (u := - s / B) in *; split; intro H; [apply (Rmult_eq_reg_r B); [lra | exact HB] | nra].
Qed.
