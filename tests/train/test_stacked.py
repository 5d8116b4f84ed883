"""K ResNets stacked as grouped convolutions compute exactly what the K separate nets compute."""

import pytest
import torch
import torch.nn.functional as F

from fcc_train.fleet.stacked_model import stack_resnets
from fcc_train.models.resnet_cifar import resnet32, resnet_small


def _nets(k, make=resnet_small, seed=0, **kw):
    torch.manual_seed(seed)
    return [make(**kw) for _ in range(k)]


@pytest.mark.parametrize("k", [1, 3])
def test_training_step_matches_separate_nets(k):
    nets = _nets(k, num_classes=4, in_channels=1)
    stacked = stack_resnets(nets)
    x = torch.randn(6, k, 8, 8)
    y = torch.randint(0, 4, (6, k))
    logits = stacked(x)  # train mode: per-run batch statistics
    loss = sum(F.cross_entropy(logits[:, i], y[:, i]) for i in range(k))
    loss.backward()
    for i, net in enumerate(nets):
        ref = net(x[:, i : i + 1])
        torch.testing.assert_close(logits[:, i], ref, rtol=1e-4, atol=1e-5)
        F.cross_entropy(ref, y[:, i]).backward()
    # gradients: the stacked conv's slice k equals net k's gradient
    conv_s, convs = stacked.stages[2][0].conv2.weight.grad, [n.stages[2][0].conv2.weight.grad for n in nets]
    torch.testing.assert_close(conv_s, torch.cat(convs), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(stacked.head_weight.grad, torch.stack([n.head.weight.grad for n in nets]), rtol=1e-4, atol=1e-5)
    # running statistics moved per run, and come back out through unstack_into
    copies = _nets(k, seed=1, num_classes=4, in_channels=1)  # other weights: unstack_into must overwrite all
    stacked.unstack_into(copies)
    for a, b in zip(nets, copies, strict=True):
        for (na, ta), (_, tb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            torch.testing.assert_close(ta, tb, rtol=1e-5, atol=1e-6, msg=na)


def test_resnet32_eval_matches_and_shortcut_pads_per_run():
    nets = _nets(2, resnet32, num_classes=10)
    for n in nets:
        n.eval()
    stacked = stack_resnets(nets).eval()
    x = torch.randn(2, 6, 32, 32)
    out = stacked(x)
    for i in range(2):
        torch.testing.assert_close(out[:, i], nets[i](x[:, 3 * i : 3 * i + 3]), rtol=1e-4, atol=1e-4)


def test_whole_block_padding_would_be_caught():
    # the mechanism: padding the stacked channels as one block (the unstacked shortcut) mixes runs
    from fcc_train.models.resnet_cifar import _ShortcutA

    nets = _nets(2, num_classes=4, in_channels=1)
    stacked = stack_resnets(nets).eval()
    for n in nets:
        n.eval()
    blk = stacked.stages[1][0]
    blk.shortcut = _ShortcutA(2 * 16, 2 * 32, 2)
    x = torch.randn(3, 2, 8, 8)
    assert not torch.allclose(stacked(x)[:, 1], nets[1](x[:, 1:2]), atol=1e-4)


def test_mixed_head_kinds_are_refused():
    from fcc_train.models.heads import CosineHead

    nets = _nets(2, num_classes=4, in_channels=1)
    nets[1].head = CosineHead(64, 4)
    with pytest.raises(ValueError, match="heads differ"):
        stack_resnets(nets)
    nets[0].head = CosineHead(64, 4, scale=16.0)  # one kind, two scales
    with pytest.raises(ValueError, match="heads differ"):
        stack_resnets(nets)


def test_cosine_heads_stack_run_by_run():
    """LDAM's normalised head: each run normalises its own features and class weights (not the stacked ones)."""
    from fcc_train.models.heads import CosineHead

    nets = _nets(3, num_classes=4, in_channels=1)
    for n in nets:
        n.head = CosineHead(64, 4, scale=30.0)
    stacked = stack_resnets(nets)
    x = torch.randn(6, 3, 8, 8)
    y = torch.randint(0, 4, (6, 3))
    logits = stacked(x)
    sum(F.cross_entropy(logits[:, i], y[:, i]) for i in range(3)).backward()
    for i, net in enumerate(nets):
        ref = net(x[:, i : i + 1])
        torch.testing.assert_close(logits[:, i], ref, rtol=1e-4, atol=1e-4)
        F.cross_entropy(ref, y[:, i]).backward()
    torch.testing.assert_close(stacked.head_weight.grad, torch.stack([n.head.weight.grad for n in nets]), rtol=1e-4, atol=1e-6)
    # the mechanism: one normalisation over the stacked weight (K, C, d) as a whole would not match
    whole = 30.0 * torch.einsum(
        "nkd,kcd->nkc", F.normalize(stacked.features(x), dim=-1), stacked.head_weight / stacked.head_weight.norm()
    )
    assert not torch.allclose(whole[:, 0], nets[0](x[:, :1]), atol=1e-3)
