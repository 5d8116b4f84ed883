(* Any depth and any widths: a network of bias-free layers u ↦ φ_α(W u), φ_α the leaky ReLU with slope α
   (α = 0: ReLU; α = 1: a linear layer, e.g. a bias-free output layer), is positively homogeneous,
   o(τx) = τ·o(x) for τ > 0, by induction over the layers; hence every pairwise comparison of the outputs,
   ties included, and so the argmax set, is the same at τx and at x. Every slope α is allowed, one per layer. *)
Require Import Reals Lra Psatz List.
Import ListNotations.
Open Scope R_scope.

Definition vec := nat -> R.
Fixpoint sum (n : nat) (f : nat -> R) : R := match n with O => 0 | S m => sum m f + f m end.

Lemma sum_ext : forall n f g, (forall j, f j = g j) -> sum n f = sum n g.
Proof. induction n; intros f g H; simpl; [reflexivity | rewrite (IHn f g H), H; reflexivity]. Qed.

Lemma sum_scale : forall n (c u : nat -> R) t, sum n (fun j => c j * (t * u j)) = t * sum n (fun j => c j * u j).
Proof. induction n; intros; simpl; [ring | rewrite IHn; ring]. Qed.

Definition leaky (alpha u : R) : R := if Rlt_dec 0 u then u else alpha * u.

Lemma leaky_relu : forall u, leaky 0 u = Rmax 0 u.
Proof.
  intro u; unfold leaky, Rmax; destruct (Rlt_dec 0 u), (Rle_dec 0 u); lra.
Qed.

Lemma leaky_linear : forall u, leaky 1 u = u.
Proof. intro u; unfold leaky; destruct (Rlt_dec 0 u); ring. Qed.

Lemma leaky_homogeneous : forall alpha t u, 0 < t -> leaky alpha (t * u) = t * leaky alpha u.
Proof.
  intros alpha t u Ht; unfold leaky.
  destruct (Rlt_dec 0 (t * u)), (Rlt_dec 0 u); try ring; exfalso; nra.
Qed.

Record layer := { width : nat; weight : nat -> nat -> R; slope : R }.
Definition apply_layer (l : layer) (u : vec) : vec :=
  fun i => leaky (slope l) (sum (width l) (fun j => weight l i j * u j)).
Fixpoint run (net : list layer) (x : vec) : vec :=
  match net with [] => x | l :: rest => run rest (apply_layer l x) end.

Definition scale (t : R) (x : vec) : vec := fun j => t * x j.
Definition respects (F : vec -> vec) := forall u v, (forall j, u j = v j) -> forall i, F u i = F v i.
Definition homogeneous (F : vec -> vec) := respects F /\ forall t u i, 0 < t -> F (scale t u) i = t * F u i.

Lemma layer_homogeneous : forall l, homogeneous (apply_layer l).
Proof.
  intros l; split.
  - intros u v H i; unfold apply_layer.
    rewrite (sum_ext _ _ (fun j => weight l i j * v j)); [reflexivity | intro j; rewrite H; reflexivity].
  - intros t u i Ht; unfold apply_layer, scale; rewrite sum_scale; apply leaky_homogeneous; exact Ht.
Qed.

Lemma run_homogeneous : forall net, homogeneous (run net).
Proof.
  induction net as [| l rest IH]; simpl.
  - split; [intros u v H i; apply H | intros; reflexivity].
  - destruct IH as [Hr Hh]; destruct (layer_homogeneous l) as [Lr Lh]; split.
    + intros u v H i; apply Hr; intro j; apply Lr; exact H.
    + intros t u i Ht.
      rewrite (Hr _ (scale t (apply_layer l u))); [apply Hh; exact Ht | intro j; unfold scale; apply Lh; exact Ht].
Qed.

Theorem bias_free_scaling : forall net t x i, 0 < t -> run net (scale t x) i = t * run net x i.
Proof. intros net t x i Ht; destruct (run_homogeneous net) as [_ Hh]; apply Hh; exact Ht. Qed.

Theorem pairwise_order_preserved : forall net t x p q, 0 < t ->
  (run net (scale t x) p > run net (scale t x) q <-> run net x p > run net x q) /\
  (run net (scale t x) p = run net (scale t x) q <-> run net x p = run net x q).
Proof.
  intros net t x p q Ht; rewrite !bias_free_scaling by exact Ht.
  split; split; intro H; nra.
Qed.

(* the argmax set over the first n outputs (ties included) *)
Definition is_argmax (n : nat) (o : vec) (i : nat) := (i < n)%nat /\ forall j, (j < n)%nat -> o j <= o i.

Theorem argmax_preserved : forall net t x n i, 0 < t ->
  (is_argmax n (run net (scale t x)) i <-> is_argmax n (run net x) i).
Proof.
  intros net t x n i Ht; unfold is_argmax.
  split; intros [Hi H]; split; try exact Hi; intros j Hj; specialize (H j Hj);
    rewrite !bias_free_scaling in * by exact Ht; nra.
Qed.
