"""The CNN family: shapes in every mode, gradients, the features/head split, conv order, sizes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nnlab.data.synthetic import make_shapes
from nnlab.models.cnn import CNN_NAMES, build_cnn


def _model(name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_cnn(name, n_classes=10, **kwargs)


@pytest.mark.parametrize("name", CNN_NAMES)
@pytest.mark.parametrize("train", [True, False])
def test_logits_shape_in_train_and_eval_mode(name, train):
    model = _model(name).train(train)
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("name", CNN_NAMES)
def test_channels_last_and_bf16_autocast_match_plain_float32(name):
    model = _model(name).eval()
    x = torch.rand(4, 1, 28, 28)
    expected = model(x)
    model = model.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(model(x_cl), expected, rtol=1e-4, atol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x_cl)
    assert logits.shape == (4, 10) and torch.isfinite(logits).all()
    torch.testing.assert_close(logits.float(), expected, rtol=0.1, atol=0.1)  # bf16 keeps ~3 digits


@pytest.mark.parametrize("name", [n for n in CNN_NAMES if n != "lecture"])
def test_global_pooling_models_take_larger_images_and_colour(name):
    assert _model(name)(torch.rand(2, 1, 36, 44)).shape == (2, 10)
    assert _model(name, in_channels=3)(torch.rand(2, 3, 28, 28)).shape == (2, 10)


def test_lecture_derives_its_dense_layer_from_the_image_size():
    model = _model("lecture", image_size=(32, 32))
    assert model.head.fc1.in_features == 64 * 14 * 14
    assert model(torch.rand(2, 1, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", CNN_NAMES)
def test_gradients_reach_every_parameter(name):
    model = _model(name).train()
    loss = F.cross_entropy(model(torch.rand(8, 1, 28, 28)), torch.arange(8) % 10)
    loss.backward()
    for param_name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", CNN_NAMES)
def test_frozen_features_stay_put_while_the_head_learns(name):
    model = _model(name).train()
    model.features.requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = {k: v.clone() for k, v in model.named_parameters()}
    F.cross_entropy(model(torch.rand(8, 1, 28, 28)), torch.arange(8) % 10).backward()
    optimizer.step()
    for key, p in model.named_parameters():
        changed = not torch.equal(p, before[key])
        assert changed == key.startswith("head."), key


@pytest.mark.parametrize("name", CNN_NAMES)
def test_conv_layers_are_listed_in_forward_order(name):
    model = _model(name)
    called: list[str] = []
    names = {conv: n for n, conv in model.conv_layers()}
    for conv in names:
        conv.register_forward_hook(lambda module, args, output: called.append(names[module]))
    model(torch.rand(1, 1, 28, 28))
    listed = [n for n, _ in model.conv_layers()]
    assert called == listed
    assert model.conv_layers()[0][1].in_channels == 1
    assert all(dict(model.named_modules())[n] is conv for n, conv in model.conv_layers())


def test_lecture_is_the_pytorch_mnist_example():
    # pytorch/examples mnist/main.py: 320 + 18,496 + 1,179,776 + 1,290 parameters.
    model = _model("lecture")
    assert sum(p.numel() for p in model.parameters()) == 1_199_882
    assert [n for n, _ in model.conv_layers()] == ["features.conv1", "features.conv2"]


@pytest.mark.parametrize("name", ["fast", "resnet", "inception"])
def test_parameter_counts_stay_modest(name):
    assert sum(p.numel() for p in _model(name).parameters()) < 200_000


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="lecture, fast, resnet, inception, vgg"):
        build_cnn("alexnet", n_classes=10)


@pytest.mark.parametrize("name,widths,last", [("fast", (16, 64, 160), "features.conv4"),
                                               ("resnet", (8, 16), "features.block2.conv2"),
                                               ("vgg", (8, 16, 24, 32), "features.conv8")])
def test_stage_widths_set_the_channels(name, widths, last):
    model = _model(name, widths=widths)
    convs = dict(model.conv_layers())
    assert convs[last].out_channels == widths[-1]
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("name,widths,message", [("lecture", (8, 8, 8), "fixed widths"),
                                                 ("inception", (8,), "fixed widths"),
                                                 ("fast", (16, 64), "takes 3 positive"),
                                                 ("vgg", (8, 8, 8, 8, 8), "1 to 4"),
                                                 ("resnet", (8, 0), "positive")])
def test_widths_that_do_not_fit_are_refused(name, widths, message):
    with pytest.raises(ValueError, match=message):
        build_cnn(name, n_classes=10, widths=widths)


@pytest.mark.parametrize("name", ["fast", "inception", "vgg"])
def test_the_head_dropout_can_be_set_or_left(name):
    assert _model(name, dropout=0.0).head.dropout.p == 0.0
    assert _model(name).head.dropout.p > 0.0
    with pytest.raises(ValueError, match="in \\[0, 1\\)"):
        build_cnn(name, n_classes=10, dropout=1.0)


def test_fast_overfits_64_images():
    images, labels = make_shapes(64, seed=0)
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)  # (64, 1, 28, 28)
    y = torch.from_numpy(labels)
    model = _model("fast").train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(20):
        logits = model(x)  # (64, 10)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert (logits.argmax(1) == y).all()  # train accuracy, batch statistics as in training
    assert loss.item() < 0.1
