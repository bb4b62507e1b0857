"""Convolutional networks for small grey images (lecture: "convolutional neural networks").

Five architectures share one shape: a convolutional trunk `features` (up to and including
the global pooling / flatten) and a classifier `head`, so transfer learning can freeze the
trunk and retrain the head. `lecture` is pytorch/examples mnist/main.py layer for layer;
ResNet (He et al. 2015), Inception (Szegedy et al. 2014) and VGG (Simonyan & Zisserman
2014) are scaled down to 28x28 inputs.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

CNN_NAMES = ("lecture", "fast", "resnet", "inception", "vgg")


class CNN(nn.Module):
    """A convolutional trunk `features` then a classifier `head`; raw logits out."""

    def __init__(self, features: nn.Module, head: nn.Module):
        super().__init__()
        self.features = features
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (B, n_classes)

    def conv_layers(self) -> list[tuple[str, nn.Conv2d]]:
        """Every convolution as (dotted name, layer), in the order the forward pass runs them."""
        return [(name, m) for name, m in self.named_modules() if isinstance(m, nn.Conv2d)]


WIDTH_STAGES = {"fast": (3, 3), "resnet": (1, 4), "vgg": (1, 4)}  # how many stage widths each one takes
HEAD_DROPOUT = ("fast", "inception", "vgg")  # the networks with one dropout before their classifier layer


def build_cnn(name: str, *, n_classes: int, in_channels: int = 1, image_size: tuple[int, int] = (28, 28),
              widths: tuple[int, ...] = (), dropout: float | None = None) -> CNN:
    """The CNN called `name` (one of CNN_NAMES) for `in_channels` x `image_size` images.

    Only `lecture` depends on `image_size` (its flatten feeds a dense layer); the others end
    in global pooling and take any image of at least 28x28 pixels. `widths` sets the channels
    of each stage of `fast` (three), `resnet` or `vgg` (one to four); empty keeps the
    architecture's own. `dropout` sets the rate of the dropout before the classifier layer of
    `fast`, `inception` or `vgg` (None keeps theirs). Unknown names and settings that do not
    fit raise ValueError.
    """
    if name not in CNN_NAMES:
        raise ValueError(f"unknown CNN {name!r}: choose one of {', '.join(CNN_NAMES)}")
    if widths:
        _check_widths(name, widths)
    if dropout is not None and (name not in HEAD_DROPOUT or not 0.0 <= dropout < 1.0):
        raise ValueError(f"a head dropout in [0, 1) can be set for {', '.join(HEAD_DROPOUT)}; "
                         f"got {dropout} for {name}")
    if name == "lecture":
        return _lecture(n_classes, in_channels, image_size)
    builders = {"fast": _fast, "resnet": _resnet, "inception": _inception, "vgg": _vgg}
    model = builders[name](n_classes, in_channels, *([tuple(widths)] if widths else []))
    if dropout is not None:
        model.head.dropout.p = dropout
    return model


def _check_widths(name: str, widths: tuple[int, ...]) -> None:
    if name not in WIDTH_STAGES:
        raise ValueError(f"the {name} network has fixed widths; widths can be set for {', '.join(WIDTH_STAGES)}")
    low, high = WIDTH_STAGES[name]
    if not low <= len(widths) <= high or min(widths) < 1:
        count = f"{low}" if low == high else f"{low} to {high}"
        raise ValueError(f"{name} takes {count} positive stage widths, got {', '.join(map(str, widths))}")


def _lecture(n_classes: int, in_channels: int, image_size: tuple[int, int]) -> CNN:
    """pytorch/examples mnist/main.py: two 3x3 convolutions, max-pool, two dense layers, dropout.

    Layer names follow the example (conv1, conv2, fc1, fc2); 1,199,882 parameters at 28x28.
    """
    features = nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(in_channels, 32, 3), relu1=nn.ReLU(),  # (B, 32, 26, 26)
        conv2=nn.Conv2d(32, 64, 3), relu2=nn.ReLU(),  # (B, 64, 24, 24)
        pool=nn.MaxPool2d(2), dropout1=nn.Dropout(0.25),  # (B, 64, 12, 12)
        flatten=nn.Flatten(),  # (B, 9216) for 28x28
    ))
    head = nn.Sequential(OrderedDict(
        fc1=nn.Linear(_flat_dim(features, in_channels, image_size), 128), relu=nn.ReLU(),
        dropout2=nn.Dropout(0.5), fc2=nn.Linear(128, n_classes),
    ))
    return CNN(features, head)


def _flat_dim(features: nn.Module, in_channels: int, image_size: tuple[int, int]) -> int:
    """The trunk's output width, found by a dummy forward pass rather than by hand."""
    with torch.no_grad():
        return features(torch.zeros(1, in_channels, *image_size)).shape[1]


def _conv_bn(index: int, c_in: int, c_out: int) -> list[tuple[str, nn.Module]]:
    """3x3 convolution (no bias: BatchNorm's shift replaces it), BatchNorm, ReLU, as named layers."""
    return [(f"conv{index}", nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)),
            (f"bn{index}", nn.BatchNorm2d(c_out)), (f"relu{index}", nn.ReLU(inplace=True))]


def _global_pool() -> list[tuple[str, nn.Module]]:
    """Global average pooling and flatten: (B, C, H, W) -> (B, C) whatever H and W are."""
    return [("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten())]


def _fast(n_classes: int, in_channels: int, widths: tuple[int, int, int] = (32, 64, 128)) -> CNN:
    """A small BatchNorm CNN picked by measuring accuracy per CPU second (2 cores, channels-last).

    Where a block ends in a max-pool, the pool runs before BatchNorm and ReLU (as in Page's
    fast CIFAR ResNet): the element-wise layers, which cost more than the convolutions at
    this size, then see a quarter of the pixels; 1.35x the throughput of conv-BN-ReLU-pool.
    Global max pooling ("is this stroke anywhere?") beat average pooling on MNIST-4k
    (98.9% vs 98.6%, mean of 3 seeds) and avg+max concatenation, which was also slower.
    On all 60,000 Fashion-MNIST images four epochs of widths (16, 32, 160) reach 92.4-92.5% at 40% of
    these widths' work; on the 4,000 mnist-5k images narrower trunks lost accuracy (docs/cnn.md).
    """
    c1, c2, c3 = widths
    layers = _conv_pool_bn(1, in_channels, c1)  # (B, 32, 14, 14)
    layers += _conv_bn(2, c1, c2) + _conv_pool_bn(3, c2, c2)  # (B, 64, 7, 7)
    layers += _conv_bn(4, c2, c3)  # (B, 128, 7, 7)
    layers += [("pool", nn.AdaptiveMaxPool2d(1)), ("flatten", nn.Flatten())]  # (B, 128)
    head = nn.Sequential(OrderedDict(dropout=nn.Dropout(0.2), fc=nn.Linear(c3, n_classes)))
    return CNN(nn.Sequential(OrderedDict(layers)), head)


def _conv_pool_bn(index: int, c_in: int, c_out: int) -> list[tuple[str, nn.Module]]:
    """3x3 convolution, 2x2 max-pool, BatchNorm, ReLU: conv-BN-ReLU-pool with the pool moved forward."""
    conv, bn, relu = _conv_bn(index, c_in, c_out)
    return [conv, (f"maxpool{index}", nn.MaxPool2d(2)), bn, relu]


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus the input (or its 1x1 projection when the shape changes), then ReLU."""

    def __init__(self, c_in: int, c_out: int, *, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.relu(self.bn1(self.conv1(x)))  # (B, c_out, H / stride, W / stride)
        z = self.bn2(self.conv2(z))
        return torch.relu(z + self.shortcut(x))


def _resnet(n_classes: int, in_channels: int, widths: tuple[int, ...] = (16, 32, 64)) -> CNN:
    """A stem convolution and one residual block per stage; each stage after the first halves H and W."""
    layers = _conv_bn(0, in_channels, widths[0])  # (B, 16, 28, 28)
    c_in = widths[0]
    for i, width in enumerate(widths, start=1):
        layers.append((f"block{i}", ResidualBlock(c_in, width, stride=1 if i == 1 else 2)))  # 28, 14, 7
        c_in = width
    features = nn.Sequential(OrderedDict(layers + _global_pool()))  # (B, 64)
    return CNN(features, nn.Sequential(OrderedDict(fc=nn.Linear(c_in, n_classes))))


class InceptionBlock(nn.Module):
    """Four branches side by side, concatenated on channels: 1x1, 3x3, 5x5 (as two 3x3), pool.

    Each wide branch starts with a cheap 1x1 reduction, as in GoogLeNet; the 5x5 receptive
    field comes from two 3x3 layers (Inception v2/v3), which is cheaper for the same view.
    """

    def __init__(self, c_in: int, *, c1: int, c3: int, c5: int, c_pool: int):
        super().__init__()
        self.branch1 = _conv_unit(c_in, c1, 1)
        self.branch3 = nn.Sequential(_conv_unit(c_in, c3 // 2, 1), _conv_unit(c3 // 2, c3, 3))
        self.branch5 = nn.Sequential(_conv_unit(c_in, c5 // 2, 1), _conv_unit(c5 // 2, c5, 3),
                                     _conv_unit(c5, c5, 3))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv_unit(c_in, c_pool, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch3, self.branch5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)  # (B, c1 + c3 + c5 + c_pool, H, W)


def _conv_unit(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def _inception(n_classes: int, in_channels: int) -> CNN:
    """A stem convolution and max-pool, then two Inception blocks with a max-pool between them."""
    layers = _conv_bn(1, in_channels, 32) + [("maxpool1", nn.MaxPool2d(2))]  # (B, 32, 14, 14)
    layers += [("inception1", InceptionBlock(32, c1=16, c3=24, c5=16, c_pool=8)),  # (B, 64, 14, 14)
               ("maxpool2", nn.MaxPool2d(2)),  # (B, 64, 7, 7)
               ("inception2", InceptionBlock(64, c1=32, c3=48, c5=24, c_pool=24))]  # (B, 128, 7, 7)
    features = nn.Sequential(OrderedDict(layers + _global_pool()))  # (B, 128)
    head = nn.Sequential(OrderedDict(dropout=nn.Dropout(0.2), fc=nn.Linear(128, n_classes)))
    return CNN(features, head)


def _vgg(n_classes: int, in_channels: int, widths: tuple[int, ...] = (32, 64, 128)) -> CNN:
    """Blocks of two 3x3 convolutions (with BatchNorm, as in vgg11_bn) each closed by a max-pool.

    Two stacked 3x3 layers see 5x5 pixels with fewer weights than one 5x5: VGG's point.
    """
    layers: list[tuple[str, nn.Module]] = []
    c_in = in_channels
    for i, width in enumerate(widths, start=1):
        layers += _conv_bn(2 * i - 1, c_in, width) + _conv_bn(2 * i, width, width)
        layers.append((f"maxpool{i}", nn.MaxPool2d(2)))  # 28 -> 14 -> 7 -> 3
        c_in = width
    features = nn.Sequential(OrderedDict(layers + _global_pool()))  # (B, 128)
    head = nn.Sequential(OrderedDict(fc1=nn.Linear(c_in, 128), relu=nn.ReLU(inplace=True),
                                     dropout=nn.Dropout(0.5), fc2=nn.Linear(128, n_classes)))
    return CNN(features, head)
