(* A linear head ℓ = τa + b (a = w·f) on a pair of classes i, j (fcc_theory/lemmas.py, head lemmas). *)
Require Import Reals Lra Psatz.
Open Scope R_scope.

(* claim multiclass_bias_rescaling: τWf + b = τ(Wf + b/τ), so for τ > 0 every pairwise comparison (>, =) of
   the logits τa + b is the one of a + b/τ: argmax(τWf + b) = argmax(Wf + b/τ), ties included *)
Theorem bias_rescaling_identity : forall t a b, t <> 0 -> t * a + b = t * (a + b / t).
Proof. intros; field; assumption. Qed.

Theorem multiclass_bias_rescaling : forall t ai aj bi bj, t > 0 ->
  (t * ai + bi > t * aj + bj <-> ai + bi / t > aj + bj / t) /\
  (t * ai + bi = t * aj + bj <-> ai + bi / t = aj + bj / t).
Proof.
  intros t ai aj bi bj Ht.
  rewrite (bias_rescaling_identity t ai bi), (bias_rescaling_identity t aj bj) by lra.
  set (p := ai + bi / t); set (q := aj + bj / t).
  split; split; intro H; nra.
Qed.

(* claim flip_toward_larger_bias: τ > 1, class i wins at τf, class j at least ties at f ⇒ b_j > b_i *)
Theorem flip_toward_larger_bias : forall t ai aj bi bj, t > 1 ->
  t * ai + bi > t * aj + bj -> aj + bj >= ai + bi -> bj > bi.
Proof. intros; nra. Qed.
