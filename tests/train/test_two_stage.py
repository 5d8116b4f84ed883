"""cRT / LWS / τ-norm / MaxNorm / DiVe teacher loading, and FCC cancelling under a cosine head."""

from __future__ import annotations

import warnings

import pytest
import torch

from fcc_theory.errors import UserError
from fcc_train.config import config_to_dict, load_config
from fcc_train.methods import FCC_COSINE_WARNING, DataInfo, after_step, build_method, eval_head, prepare_stage
from fcc_train.methods.two_stage import LWSHead, max_norm_, tau_normalise


class Toy(torch.nn.Module):
    """The model contract (stem, stages, features, head) in miniature."""

    def __init__(self, c=4, d=6):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(1, d, 3, padding=1), torch.nn.BatchNorm2d(d), torch.nn.ReLU())
        self.stages = torch.nn.ModuleList([torch.nn.Sequential(torch.nn.Conv2d(d, d, 3, padding=1), torch.nn.ReLU())])
        self.head = torch.nn.Linear(d, c)
        self.feature_dim = d

    def features(self, x):
        x = self.stem(x)
        for s in self.stages:
            x = s(x)
        return x.mean((2, 3))

    def forward(self, x):
        return self.head(self.features(x))


def _models():
    mod = pytest.importorskip("fcc_train.models")
    if not hasattr(mod, "build_model"):
        pytest.skip("fcc_train.models has not landed yet")
    return mod


def _save_stage1(tmp_path, model):
    from fcc_train.train.checkpoint import FORMAT_VERSION, save_checkpoint

    run = tmp_path / "stage1"
    save_checkpoint(
        {
            "model": model.state_dict(),
            "epoch": 200,
            "config": config_to_dict(load_config(None)),
            "format_version": FORMAT_VERSION,
        },
        run / "checkpoints" / "last.pt",
    )
    return run


def test_crt_loads_freezes_and_resets_head(tmp_path):
    torch.manual_seed(0)
    stage1 = Toy()
    run = _save_stage1(tmp_path, stage1)
    model = Toy()
    cfg = load_config(None, [f"stage.init_from={run}", "stage.freeze_backbone=true", "stage.reset_head=true"])
    params = list(prepare_stage(model, cfg))
    assert torch.equal(model.stem[0].weight, stage1.stem[0].weight)  # backbone loaded
    assert not torch.equal(model.head.weight, stage1.head.weight)  # head re-initialised
    assert {id(p) for p in params} == {id(model.head.weight), id(model.head.bias)}
    assert all(not p.requires_grad for n, p in model.named_parameters() if not n.startswith("head."))


def test_missing_stage1_is_one_clear_error(tmp_path):
    cfg = load_config(None, [f"stage.init_from={tmp_path / 'nope'}"])
    with pytest.raises(UserError, match="does not exist"):
        prepare_stage(Toy(), cfg)


def test_lws_trains_only_the_scale():
    model = Toy()
    cfg = load_config(None, ["stage.lws=true"])
    before = model.head(torch.ones(2, 6))
    params = list(prepare_stage(model, cfg))
    assert isinstance(model.head, LWSHead) and params == [model.head.scale]
    with torch.no_grad():
        model.head.scale.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert torch.allclose(model.head(torch.ones(2, 6)), before * torch.tensor([1.0, 2.0, 3.0, 4.0]))


def test_tau_norm_eval_head():
    torch.manual_seed(1)
    model = Toy()
    cfg = load_config(None, ["stage.head_transform=tau_norm", "stage.tau_norm_p=1.0"])
    x = torch.randn(3, 1, 5, 5)
    model.eval()
    net = eval_head(model, cfg)
    w, b = model.head.weight, model.head.bias
    want = model.features(x) @ (w / w.norm(dim=1, keepdim=True)).T + b
    assert torch.allclose(net(x), want, atol=1e-5)
    w2 = tau_normalise(torch.tensor([[3.0, 4.0], [0.0, 2.0]]), 0.5)
    assert torch.allclose(w2, torch.tensor([[3 / 5**0.5, 4 / 5**0.5], [0.0, 2 / 2**0.5]]))
    assert eval_head(model, load_config(None)) is model


def test_max_norm_projection_after_step():
    model = Toy()
    with torch.no_grad():
        model.head.weight.mul_(100)
        model.head.weight[0].fill_(0.001)
    small = model.head.weight[0].clone()
    after_step(model, load_config(None, ["stage.max_norm=0.1"]))
    norms = model.head.weight.norm(dim=1)
    assert torch.all(norms <= 0.1 + 1e-6) and torch.allclose(norms[1:], torch.full((3,), 0.1))
    assert torch.equal(model.head.weight[0], small)  # rows inside the ball are untouched
    w = torch.tensor([[3.0, 4.0]])
    max_norm_(w, 1.0)
    assert torch.allclose(w, torch.tensor([[0.6, 0.8]]))


def test_dive_loads_its_teacher(tmp_path):
    models = _models()
    cfg_t = load_config(None, ["data.dataset=synthetic", "data.num_classes=4", "model.arch=resnet_small"])
    teacher = models.build_model(cfg_t, 4, 3)
    from fcc_train.train.checkpoint import FORMAT_VERSION, save_checkpoint

    save_checkpoint(
        {"model": teacher.state_dict(), "epoch": 1, "config": config_to_dict(cfg_t), "format_version": FORMAT_VERSION},
        tmp_path / "t" / "checkpoints" / "last.pt",
    )
    cfg = load_config(None, ["method.loss=dive", f"method.teacher={tmp_path / 't'}", "model.arch=resnet_small"])
    m = build_method(cfg, DataInfo([50, 20, 8, 3], 10))
    x = torch.randn(2, 3, 16, 16)
    teacher.eval()
    assert torch.allclose(m.teacher(x), teacher(x), atol=1e-5)
    assert not any(p.requires_grad for p in m.teacher.parameters())


def test_fcc_cancels_under_cosine_head_and_warns():
    models = _models()
    cfg = load_config(None, ["model.head=cosine", "fcc.enabled=true", "model.arch=resnet_small", "data.dataset=synthetic"])
    torch.manual_seed(0)
    model = models.build_model(cfg, 4, 3)
    f = torch.rand(5, model.feature_dim) + 0.1
    tau = torch.tensor([1.5, 1.4, 1.2, 1.1, 2.0])[:, None]
    assert torch.allclose(model.head(f * tau), model.head(f), atol=1e-5)  # logits unchanged
    lin = models.build_model(load_config(None, ["model.arch=resnet_small", "data.dataset=synthetic"]), 4, 3)
    assert not torch.allclose(lin.head(f * tau), lin.head(f), atol=1e-3)  # a linear head does see FCC
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        build_method(cfg, DataInfo([50, 20, 8, 3], 10))
    assert any(FCC_COSINE_WARNING in str(w.message) for w in rec)


def _bot_warmup_multistep(base_lr, epoch, warmup_epochs, milestones, gamma, warmup_factor=1 / 3):
    """BoT's WarmupMultiStepLR written independently: scheduler.step() before each epoch, so epoch e uses last_epoch = e."""
    import bisect

    factor = 1.0
    if epoch < warmup_epochs:
        alpha = epoch / warmup_epochs
        factor = warmup_factor * (1 - alpha) + alpha
    return base_lr * factor * gamma ** bisect.bisect_right(milestones, epoch)


@pytest.mark.parametrize("split", ["cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50"])
@pytest.mark.parametrize("stem", ["crt", "crt_fcc", "lws", "lws_fcc"])
def test_crt_and_lws_stage2_warm_up_as_the_official_cifar_configs(split, stem):
    from fcc_train.train.engine import lr_at

    REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
    optim = load_config(REPO / "configs" / split / f"{stem}.yaml").optim
    got = [lr_at(optim, e) for e in range(1, 31)]
    want = [_bot_warmup_multistep(0.1, e, 5, [10, 20], 0.1) for e in range(1, 31)]
    assert got == pytest.approx(want, rel=1e-12)
    assert [round(x, 3) for x in got[:6]] == [0.047, 0.06, 0.073, 0.087, 0.1, 0.1]
    assert got[9] == pytest.approx(0.01) and got[19] == pytest.approx(0.001)


def test_imagenet_lt_crt_keeps_no_warmup():
    from fcc_train.train.engine import lr_at

    REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
    for stem in ("crt", "crt_fcc"):
        optim = load_config(REPO / "configs" / "imagenet_lt" / f"{stem}.yaml").optim
        assert [lr_at(optim, e) for e in (1, 2, 10, 20)] == pytest.approx([0.1, 0.1, 0.01, 0.001])


def test_tau_norm_is_applied_to_the_ce_runs_best_checkpoint(tmp_path):
    """ce_best (official): the best epoch is the raw head's, i.e. the CE run's; own_best selects on the normalised head."""
    import json
    from pathlib import Path

    from fcc_train.train.loop import run_training

    REPO = Path(__file__).resolve().parents[2]
    torch.set_num_threads(1)
    fast = ["train.progress=none", "train.device=cpu", "train.threads=1", "train.seed=1", "optim.epochs=5", "optim.lr=0.3"]

    def run(config, extra, name):
        assert run_training(load_config(REPO / config, fast + extra), tmp_path / name, log=lambda _m: None) == 0
        recs = [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        best = torch.load(tmp_path / name / "checkpoints" / "best.pt", map_location="cpu")
        return recs, best

    ce, ce_best = run("configs/digits/ce.yaml", [], "ce")
    tn, tn_best = run("configs/digits/tau_norm.yaml", [], "tau_norm")
    own, own_best = run("configs/digits/tau_norm.yaml", ["stage.tau_norm_checkpoint=own_best"], "own")
    # the raw head's error of the τ-norm run is the CE run's, epoch by epoch (τ-norm does not change training)
    assert [r["selection_top1_error"] for r in tn] == [r["top1_error"] for r in ce]
    first_min = min(range(len(ce)), key=lambda i: ce[i]["top1_error"])
    assert int(tn_best["epoch"]) == int(ce_best["epoch"]) == ce[first_min]["epoch"]
    for k, v in ce_best["model"].items():
        torch.testing.assert_close(tn_best["model"][k], v, rtol=0, atol=0)
    # own_best picks the first epoch with the lowest normalised-head error
    assert "selection_top1_error" not in own[0]
    own_min = min(range(len(own)), key=lambda i: own[i]["top1_error"])
    assert int(own_best["epoch"]) == own[own_min]["epoch"]
