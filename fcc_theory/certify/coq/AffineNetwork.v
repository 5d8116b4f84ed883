(* Any depth and any widths: an affine network o (a list of layers u ↦ W u + b, no activation, as in the
   paper's 3-3-2 network) satisfies o(τx) = τ(o(x) − o(0)) + o(0), by induction over the layers.
   Hence for a class pair (p, q) the margins obey η = τ s + B, η′ = s + B with B = margin at 0 and
   s = η′ − B: every (s, B, τ) lemma of PairLemmas.v applies to every affine network. *)
Require Import Reals Lra List.
Import ListNotations.
Open Scope R_scope.

(* vectors as functions of the index; a layer reads the first [width] entries of its input *)
Definition vec := nat -> R.
Fixpoint sum (n : nat) (f : nat -> R) : R := match n with O => 0 | S m => sum m f + f m end.

Lemma sum_ext : forall n f g, (forall j, f j = g j) -> sum n f = sum n g.
Proof. induction n; intros f g H; simpl; [reflexivity | rewrite (IHn f g H), H; reflexivity]. Qed.

Lemma sum_affine : forall n (c u v : nat -> R) a,
  sum n (fun j => c j * (a * u j + (1 - a) * v j))
  = a * sum n (fun j => c j * u j) + (1 - a) * sum n (fun j => c j * v j).
Proof. induction n; intros; simpl; [ring | rewrite IHn; ring]. Qed.

Record layer := { width : nat; weight : nat -> nat -> R; bias : nat -> R }.
Definition apply_layer (l : layer) (u : vec) : vec :=
  fun i => sum (width l) (fun j => weight l i j * u j) + bias l i.
Fixpoint run (net : list layer) (x : vec) : vec :=
  match net with [] => x | l :: rest => run rest (apply_layer l x) end.

Definition respects (F : vec -> vec) := forall u v, (forall j, u j = v j) -> forall i, F u i = F v i.
Definition affine (F : vec -> vec) := respects F /\
  forall a u v i, F (fun j => a * u j + (1 - a) * v j) i = a * F u i + (1 - a) * F v i.

Lemma layer_affine : forall l, affine (apply_layer l).
Proof.
  intros l; split.
  - intros u v H i; unfold apply_layer.
    rewrite (sum_ext _ _ (fun j => weight l i j * v j)); [reflexivity | intro j; rewrite H; reflexivity].
  - intros a u v i; unfold apply_layer; rewrite sum_affine; ring.
Qed.

Lemma run_affine : forall net, affine (run net).
Proof.
  induction net as [| l rest IH]; simpl.
  - split; [intros u v H i; apply H | intros; reflexivity].
  - destruct IH as [Hr Ha]; destruct (layer_affine l) as [Lr La]; split.
    + intros u v H i; apply Hr; intro j; apply Lr; exact H.
    + intros a u v i.
      rewrite (Hr _ (fun j => a * apply_layer l u j + (1 - a) * apply_layer l v j)); [apply Ha | intro j; apply La].
Qed.

Definition zero : vec := fun _ => 0.
Definition scale (t : R) (x : vec) : vec := fun j => t * x j.

Theorem affine_network_scaling : forall net t x i,
  run net (scale t x) i = t * (run net x i - run net zero i) + run net zero i.
Proof.
  intros net t x i; destruct (run_affine net) as [Hr Ha].
  rewrite (Hr _ (fun j => t * x j + (1 - t) * zero j)); [rewrite Ha; ring | intro j; unfold scale, zero; ring].
Qed.

(* the reduction behind every (s, B, τ) lemma, for any affine network and any pair of classes p, q *)
Theorem affine_margin_reduction : forall net t x p q,
  let eta := run net (scale t x) p - run net (scale t x) q in
  let eta' := run net x p - run net x q in
  let B := run net zero p - run net zero q in
  let s := eta' - B in
  eta = t * s + B /\ eta' = s + B /\ eta - t * eta' = (1 - t) * B.
Proof.
  intros net t x p q; cbv zeta; rewrite !(affine_network_scaling net t x); repeat split; ring.
Qed.
