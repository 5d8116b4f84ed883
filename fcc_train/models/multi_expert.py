"""Multi-expert backbones: shared early layers, E experts with their own later stages and heads, and BBN's two branches.

The multi-expert contract (CONTRIBUTING.md, "Where things live"): a model with ``multi_expert = True`` has

* ``shared_map(x)``: the map after the shared layers, (N, c, h, w) (the input itself when nothing is shared);
* ``expert_features(m) -> list[(N, d)]``: each expert's pooled feature from a shared map ``m``;
* ``expert_logits(feats) -> list[(N, C)]``: each expert's head on its feature;
* ``forward(x)``: the method's test-time aggregate, Σ_e w_e·z_e with ``expert_weights`` (E,) (1/E each unless
  SADE's test-time aggregation set them), or, once RIDE's router is trained (``method.ride_router``, buffer
  ``router_on``), the routed mean of the experts each sample uses (:mod:`fcc_train.models.expert_router`).

Layouts (``model.experts``):

* ``split`` (RIDE, Wang et al. ICLR 2021; SADE, Zhang et al. NeurIPS 2022): the stem and the first
  ``model.shared_stages`` stages are shared, every later stage is per expert with its width times
  ``model.expert_width`` (the authors' ``reduce_dimension``: 32/64 → 24/48 on the CIFAR ResNet-32, 256/512 →
  192/384 on the ImageNet ResNet-50 / ResNeXt-50, shared stem + layer1 + layer2 there);
* ``independent`` (NCL, Li et al. CVPR 2022): E full backbones, nothing shared;
* ``bilateral`` (BBN, Zhou et al. CVPR 2020): :class:`BilateralNet`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, cast

import torch
import torch.nn as nn

from fcc_train.config import ConfigError
from fcc_train.models.heads import build_head

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["EXPERT_LAYOUTS", "BilateralNet", "MultiExpertNet", "build_multi_expert", "is_multi_expert", "refuse_multi_expert"]

EXPERT_LAYOUTS = ("none", "split", "independent", "bilateral")


def is_multi_expert(model: nn.Module) -> bool:
    """Whether ``model`` follows the multi-expert contract (not the single model's stem/stages/features/head)."""
    return bool(getattr(model, "multi_expert", False))


def refuse_multi_expert(model: nn.Module, what: str) -> None:
    """One line for the paths that need a single model (stacking, cRT/LWS/τ-norm, the feature analysis)."""
    if is_multi_expert(model):
        from fcc_theory.errors import UserError

        raise UserError(
            f"{what} needs a single model; multi-expert models (model.experts: {model.layout}) are not supported there"
        )


def _gap(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=(2, 3))


class _Expert(nn.Module):
    """One expert: its own stages and its head."""

    def __init__(self, stages: list[nn.Module], head: nn.Module) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.head = head

    def features(self, m: torch.Tensor) -> torch.Tensor:
        for s in self.stages:
            m = s(m)
        return _gap(m)


class MultiExpertNet(nn.Module):
    """``stem → shared stages → E × (own stages → GAP → head)``; ``forward`` = Σ_e w_e z_e (w = 1/E by default)."""

    multi_expert = True

    def __init__(
        self, stem: nn.Module, shared: list[nn.Module], experts: list[_Expert], layout: str, router: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.stem = stem
        self.shared = nn.ModuleList(shared)
        self.experts = nn.ModuleList(experts)
        self.layout = layout
        self.num_experts = len(experts)
        self.register_buffer("expert_weights", torch.full((len(experts),), 1.0 / len(experts)))
        self.router = router
        if router is not None:  # a buffer, so that a checkpoint of a routed model evaluates routed
            self.register_buffer("router_on", torch.zeros((), dtype=torch.bool))

    def shared_map(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for s in self.shared:
            x = s(x)
        return x

    def expert_features(self, m: torch.Tensor) -> list[torch.Tensor]:
        return [cast("_Expert", e).features(m) for e in self.experts]

    def expert_logits(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        return [cast("_Expert", e).head(f) for e, f in zip(self.experts, feats, strict=True)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.router is not None and bool(self.router_on):
            from fcc_train.models.expert_router import routed_logits

            return routed_logits(self, x)[0]
        z = torch.stack(self.expert_logits(self.expert_features(self.shared_map(x))))
        return torch.einsum("e,enc->nc", self.expert_weights.to(z.dtype), z)


class BilateralNet(nn.Module):
    """BBN: a shared trunk, a conventional and a re-balancing branch (one residual block each), one linear head on
    their concatenated 2d features. ``forward(x)`` = head(cat(f_c, f_r)), BBN's test rule (α = 0.5 doubled)."""

    multi_expert = True
    layout = "bilateral"
    num_experts = 2

    def __init__(self, stem: nn.Module, shared: list[nn.Module], branches: list[nn.Module], head: nn.Module) -> None:
        super().__init__()
        self.stem = stem
        self.shared = nn.ModuleList(shared)
        self.branches = nn.ModuleList(branches)
        self.head = head

    def shared_map(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for s in self.shared:
            x = s(x)
        return x

    def branch_feature(self, m: torch.Tensor, branch: int) -> torch.Tensor:
        return _gap(self.branches[branch](m))

    def expert_features(self, m: torch.Tensor) -> list[torch.Tensor]:
        return [self.branch_feature(m, 0), self.branch_feature(m, 1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.shared_map(x)
        return self.head(torch.cat(self.expert_features(m), dim=1))


# -- builders -------------------------------------------------------------------------------------------------

StageMaker = Callable[[int, int, int, int], tuple[nn.Module, int]]  # (stage index, cin, width, blocks) -> (stage, cout)


def _cifar_parts(arch: str, in_channels: int) -> tuple[Callable[[], nn.Module], list[int], list[int], StageMaker, int]:
    from fcc_train.models.resnet_cifar import BasicBlock

    blocks = {"resnet32": [5, 5, 5], "resnet_small": [1, 1, 1]}[arch]
    widths = [16, 32, 64]

    def stem() -> nn.Module:
        return nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))

    def stage(i: int, cin: int, w: int, n: int) -> tuple[nn.Module, int]:
        layers = []
        for b in range(n):
            layers.append(BasicBlock(cin, w, stride=2 if (i > 0 and b == 0) else 1))
            cin = w
        return nn.Sequential(*layers), w

    return stem, blocks, widths, stage, 16


def _imagenet_parts(arch: str, in_channels: int) -> tuple[Callable[[], nn.Module], list[int], list[int], StageMaker, int]:
    from fcc_train.models import resnet_imagenet as R

    block: type[R.BasicBlock] | type[R.Bottleneck] = R.BasicBlock if arch == "resnet10" else R.Bottleneck
    blocks = [1, 1, 1, 1] if arch == "resnet10" else [3, 4, 6, 3]
    groups, wpg = (32, 4) if arch == "resnext50" else (1, 64)

    def stem() -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        )

    def stage(i: int, cin: int, w: int, n: int) -> tuple[nn.Module, int]:
        layers = []
        for b in range(n):
            layers.append(block(cin, w, 2 if (i > 0 and b == 0) else 1, groups, wpg))
            cin = w * block.expansion
        return nn.Sequential(*layers), cin

    return stem, blocks, [64, 128, 256, 512], stage, 64


def _init(model: nn.Module, imagenet: bool) -> None:
    """The single backbones' init (Kaiming-normal convs; fan_out + BN 1/0 on ImageNet), before the heads are built."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            if imagenet:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            else:
                nn.init.kaiming_normal_(m.weight)
        elif isinstance(m, nn.BatchNorm2d) and imagenet:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def build_multi_expert(cfg: Config, num_classes: int, in_channels: int) -> nn.Module:
    """The multi-expert model of ``cfg.model.experts`` on the backbone ``cfg.model.arch``."""
    from fcc_train.models import CIFAR_ARCHS, IMAGENET_ARCHS

    mc = cfg.model
    arch, layout, E = mc.arch, mc.experts, mc.num_experts
    if arch in CIFAR_ARCHS:
        stem_fn, blocks, widths, stage_fn, cin0 = _cifar_parts(arch, in_channels)
    elif arch in IMAGENET_ARCHS:
        stem_fn, blocks, widths, stage_fn, cin0 = _imagenet_parts(arch, in_channels)
    else:
        raise ConfigError(f"unknown model.arch '{arch}'; use one of: {', '.join(CIFAR_ARCHS + IMAGENET_ARCHS)}")
    imagenet = arch in IMAGENET_ARCHS
    S = len(blocks)
    if layout == "bilateral":
        return _bilateral(cfg, stem_fn, blocks, widths, stage_fn, cin0, num_classes, imagenet)
    if layout == "independent":
        shared_n, factor = 0, 1.0
    elif layout == "split":
        shared_n, factor = mc.shared_stages, mc.expert_width
        if not 0 <= shared_n < S:
            raise ConfigError(f"model.shared_stages is {shared_n}; use 0..{S - 1} for {arch} ({S} stages)")
    else:
        raise ConfigError(f"model.experts '{layout}' builds no multi-expert model; use split, independent or bilateral")
    if E < 1:
        raise ConfigError(f"model.num_experts is {E}; use 1 or more")
    cin, shared = cin0, []
    for i in range(shared_n):
        st, cin = stage_fn(i, cin, widths[i], blocks[i])
        shared.append(st)
    trunk_out = cin
    experts_stages = []
    for _ in range(E):
        c, stages = trunk_out, [] if layout == "split" else [stem_fn()]
        for i in range(shared_n, S):
            st, c = stage_fn(i, c, round(widths[i] * factor), blocks[i])
            stages.append(st)
        experts_stages.append((stages, c))
    stem = stem_fn() if layout == "split" else nn.Identity()
    holder = nn.ModuleList([stem, *shared, *[m for s, _ in experts_stages for m in s]])
    _init(holder, imagenet)
    # the heads are built after the backbone init so their own init (nn.Linear's default / FCNorm's) is kept
    experts = [_Expert(stages, build_head(mc, d, num_classes)) for stages, d in experts_stages]
    router = None
    if cfg.method.ride_router and E > 1:
        from fcc_train.models.expert_router import ExpertRouter

        router = ExpertRouter(experts_stages[0][1], E, cfg.method.ride_router_top_k)
    return MultiExpertNet(stem, shared, experts, layout, router)


def _bilateral(
    cfg: Config,
    stem_fn: Callable[[], nn.Module],
    blocks: list[int],
    widths: list[int],
    stage_fn: StageMaker,
    cin0: int,
    num_classes: int,
    imagenet: bool,
) -> BilateralNet:
    """BBN: the last stage's last block becomes two branches (BBN's res32: layer3 of 4 blocks + cb/rb blocks)."""
    S = len(blocks)
    cin, shared = cin0, []
    for i in range(S):
        n = blocks[i] - 1 if i == S - 1 else blocks[i]
        if n > 0:
            st, cin = stage_fn(i, cin, widths[i], n)
            shared.append(st)
    # a one-block last stage (the digits ResNet-8) leaves each branch that stage's one (strided, widening) block;
    # otherwise a branch is one stride-1 block of the last width (stage index 0 gives stride 1)
    branch_stage = S - 1 if blocks[-1] == 1 else 0
    branches, d = [], cin
    for _ in range(2):
        st, d = stage_fn(branch_stage, cin, widths[-1], 1)
        branches.append(st)
    stem = stem_fn()
    _init(nn.ModuleList([stem, *shared, *branches]), imagenet)
    head = build_head(cfg.model, 2 * d, num_classes)
    return BilateralNet(stem, shared, branches, head)
