"""K CIFAR ResNets as one network of grouped convolutions ("horizontal fusion").

Experimental until measured on a GPU (see :mod:`fcc_train.fleet.stacked_runs`).

A ResNet-32 step at batch 128 is a few hundred kernels on 8×8–32×32 maps, each too small to fill a
large GPU, so the step time is set by the kernel count, not by the arithmetic. K runs stacked along
the channel axis execute the same number of kernels, each K times larger: run k owns channels
``[k·c, (k+1)·c)`` of every layer, every convolution has ``groups=K`` (no weight connects two runs),
BatchNorm's per-channel statistics are per run by construction, and the option-A shortcut pads each
run's channels separately. Inputs are ``(N, K·3, H, W)`` — run k's own batch in its three channels —
and logits are ``(N, K, C)``.

The stacked net computes exactly what the K separate nets compute (forward, gradients and
BatchNorm running statistics; tested against :class:`~fcc_train.models.resnet_cifar.CifarResNet`),
so :func:`stack_resnets` / :meth:`StackedCifarResNet.unstack_into` move weights in and out without
changing any run. The heads are linear (with or without bias) or cosine (LDAM's normalised head), one
kind and one scale per stack.

>>> import torch
>>> from fcc_train.models.resnet_cifar import resnet_small
>>> nets = [resnet_small(num_classes=3, in_channels=1).eval() for _ in range(2)]
>>> stacked = stack_resnets(nets).eval()
>>> x = torch.randn(4, 2, 8, 8)
>>> torch.allclose(stacked(x)[:, 1], nets[1](x[:, 1:2]), atol=1e-5)
True
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from fcc_train.models.resnet_cifar import BasicBlock, CifarResNet, _ShortcutA

__all__ = ["StackedCifarResNet", "stack_resnets"]


def _grouped_conv(convs: list[nn.Conv2d]) -> nn.Conv2d:
    c0: Any = convs[0]  # kernel_size/stride/padding as the layer holds them (the stubs say tuple[int, ...])
    k = len(convs)
    g = nn.Conv2d(
        c0.in_channels * k,
        c0.out_channels * k,
        c0.kernel_size,
        stride=c0.stride,
        padding=c0.padding,
        groups=k * c0.groups,
        bias=c0.bias is not None,
    )
    with torch.no_grad():
        g.weight.copy_(torch.cat([c.weight for c in convs]))
        if g.bias is not None:
            g.bias.copy_(torch.cat([c.bias for c in convs if c.bias is not None]))
    return g


def _stacked_bn(bns: list[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    b0 = bns[0]
    s = nn.BatchNorm2d(b0.num_features * len(bns), eps=b0.eps, momentum=b0.momentum)
    with torch.no_grad():
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(s, name).copy_(torch.cat([getattr(b, name) for b in bns]))
        s.num_batches_tracked.copy_(b0.num_batches_tracked)  # type: ignore[union-attr,arg-type]  # tracked by default
    return s


class _GroupedShortcutA(nn.Module):
    """Option A per run: subsample, then zero-pad each run's ``cin`` channels to ``cout``."""

    def __init__(self, k: int, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.k, self.cin, self.stride = k, cin, stride
        self.pad_lo, self.pad_hi = (cout - cin) // 2, cout - cin - (cout - cin) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        n, _, h, w = x.shape
        x = x.reshape(n, self.k, self.cin, h, w)
        return F.pad(x, (0, 0, 0, 0, self.pad_lo, self.pad_hi)).reshape(n, -1, h, w)


class _StackedBlock(nn.Module):
    def __init__(self, blocks: list[BasicBlock]) -> None:
        super().__init__()
        b0, k = blocks[0], len(blocks)
        self.conv1, self.bn1 = _grouped_conv([b.conv1 for b in blocks]), _stacked_bn([b.bn1 for b in blocks])
        self.conv2, self.bn2 = _grouped_conv([b.conv2 for b in blocks]), _stacked_bn([b.bn2 for b in blocks])
        if isinstance(b0.shortcut, _ShortcutA):
            cin, cout = b0.conv1.in_channels, b0.conv1.out_channels
            self.shortcut: nn.Module = _GroupedShortcutA(k, cin, cout, b0.shortcut.stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class StackedCifarResNet(nn.Module):
    """K CIFAR ResNets with linear or cosine heads; ``features`` → (N, K, d), ``forward`` → logits (N, K, C)."""

    def __init__(self, nets_: list[CifarResNet]) -> None:
        super().__init__()
        nets: list[Any] = list(nets_)  # stem/stages/head as built by resnet_cifar (indexable Sequentials)
        from fcc_train.models.heads import CosineHead

        if not nets:
            raise ValueError("stack at least one network")
        kinds = {(type(n.head).__name__, getattr(n.head, "scale", None)) for n in nets}
        if len(kinds) != 1:
            raise ValueError(f"the runs' heads differ ({sorted(map(str, kinds))}); stack runs with one head kind and scale")
        self.cosine_scale = nets[0].head.scale if isinstance(nets[0].head, CosineHead) else None
        self.k, self.feature_dim = len(nets), nets[0].feature_dim
        stem = [n.stem for n in nets]
        self.stem = nn.Sequential(_grouped_conv([s[0] for s in stem]), _stacked_bn([s[1] for s in stem]), nn.ReLU(inplace=True))
        self.stages = nn.ModuleList(
            nn.Sequential(*[_StackedBlock([n.stages[i][j] for n in nets]) for j in range(len(nets[0].stages[i]))])
            for i in range(len(nets[0].stages))
        )
        fcs = [_head_params(n.head) for n in nets]
        self.head_weight = nn.Parameter(torch.stack([f.weight.detach().clone() for f in fcs]))  # (K, C, d)
        self.head_bias = nn.Parameter(torch.stack([f.bias.detach().clone() for f in fcs])) if fcs[0].bias is not None else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return x.mean(dim=(2, 3)).reshape(x.shape[0], self.k, self.feature_dim)

    def head(self, feats: torch.Tensor) -> torch.Tensor:
        if self.cosine_scale is not None:  # heads.CosineHead, run by run: s · ⟨f/‖f‖, w_c/‖w_c‖⟩
            w = F.normalize(self.head_weight, dim=-1)
            return self.cosine_scale * torch.einsum("nkd,kcd->nkc", F.normalize(feats, dim=-1), w)
        out = torch.einsum("nkd,kcd->nkc", feats, self.head_weight)
        return out + self.head_bias if self.head_bias is not None else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def run_slices(self, k: int, net: CifarResNet) -> dict[int, tuple[int, slice | int]]:
        """``id(p)`` of each parameter of ``net`` (run k) → (index in ``self.parameters()``, its slice there)."""
        index = {id(p): i for i, p in enumerate(self.parameters())}
        out: dict[int, tuple[int, slice | int]] = {}
        for s, t in zip(_convs_and_bns(self), _convs_and_bns(net), strict=True):
            for name in ("weight", "bias"):
                src, dst = getattr(s, name, None), getattr(t, name, None)
                if src is not None and dst is not None:
                    n = dst.shape[0]
                    out[id(dst)] = (index[id(src)], slice(k * n, (k + 1) * n))
        fc = _head_params(net.head)
        out[id(fc.weight)] = (index[id(self.head_weight)], k)
        if self.head_bias is not None:
            out[id(fc.bias)] = (index[id(self.head_bias)], k)
        return out

    @torch.no_grad()
    def unstack_run(self, k: int, net: CifarResNet) -> None:
        """Copy run k's weights and BatchNorm statistics back into ``net`` (for its evaluation and checkpoint)."""
        t: Any
        for s, t in zip(_convs_and_bns(self), _convs_and_bns(net), strict=True):
            for name in ("weight", "bias", "running_mean", "running_var"):
                src, dst = getattr(s, name, None), getattr(t, name, None)
                if src is not None and dst is not None:
                    n = dst.shape[0]
                    dst.copy_(src[k * n : (k + 1) * n])
            if isinstance(s, nn.BatchNorm2d):
                t.num_batches_tracked.copy_(s.num_batches_tracked)
        fc = _head_params(net.head)
        fc.weight.copy_(self.head_weight[k])
        if self.head_bias is not None:
            fc.bias.copy_(self.head_bias[k])

    def unstack_into(self, nets: list[CifarResNet]) -> None:
        """Copy every run's state back into ``nets`` (``nets[k]`` is run k)."""
        for k, net in enumerate(nets):
            self.unstack_run(k, net)


def _convs_and_bns(m: nn.Module) -> list[nn.Module]:
    return [x for x in m.modules() if isinstance(x, (nn.Conv2d, nn.BatchNorm2d))]


def _head_params(head: nn.Module) -> Any:
    """The module holding a head's ``weight`` (C, d) and ``bias`` (C,) or None: a LinearHead's nn.Linear, or a CosineHead."""
    from fcc_train.models.heads import CosineHead

    fc = head if isinstance(head, CosineHead) else getattr(head, "fc", head)
    if not isinstance(fc, (nn.Linear, CosineHead)):
        raise ValueError(f"expected a linear or cosine head, got {type(head).__name__}")
    return fc


def stack_resnets(nets: list[CifarResNet]) -> StackedCifarResNet:
    """One :class:`StackedCifarResNet` holding copies of ``nets``' weights (same architecture each)."""
    from fcc_train.models.multi_expert import refuse_multi_expert

    for n in nets:
        refuse_multi_expert(n, "stacking runs (fcc sweep --stack)")
    return StackedCifarResNet(nets)
