"""Would training a method's seeds together as one grouped-convolution network be cheaper?

    .venv/bin/python benchmarks/grouped_seeds.py [--seeds 3] [--batch 64 128] [--steps 30] [--threads 1] [--save]

Issue 23's lever: ResNet-8's convolutions (16 to 64 channels) run far below a core's peak, so
G seeds as one network with ``groups=G`` in every layer (independent weights and BatchNorm
statistics per seed, each seed's own batch in its own channels) might cost less than G
networks. Measures one SGD step (forward, backward, update; fp32; Fashion-MNIST's 1x28x28
inputs) of the package's ResNet-8 and of a G-seed grouped ResNet-8 built here, in the same
process with the same threads, NCHW and channels_last, and prints both and the ratio
grouped / (G x single), one JSON line per batch size and memory format. A ratio
near 1 means no saving. The single network includes the package's input normalisation and the
grouped one does not (neither augments), a bias in the grouped network's favour; the
conclusion holds with it. Benchmark only: the package trains seeds one by one.
"""
from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from _record import save

from ceimb_utils.models.resnet import build_resnet
from ceimb_utils.seeding import seed_everything


class GroupedBlock(nn.Module):
    """ResNet's basic block for G networks at once, option-A shortcut per group."""

    def __init__(self, g: int, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.g, self.in_planes, self.planes, self.stride = g, in_planes, planes, stride
        self.conv1 = nn.Conv2d(g * in_planes, g * planes, 3, stride, 1, bias=False, groups=g)
        self.bn1 = nn.BatchNorm2d(g * planes)
        self.conv2 = nn.Conv2d(g * planes, g * planes, 3, 1, 1, bias=False, groups=g)
        self.bn2 = nn.BatchNorm2d(g * planes)

    def shortcut(self, x):
        if self.stride == 1 and self.in_planes == self.planes:
            return x
        n, _, h, w = x.shape
        x = x[:, :, ::2, ::2].reshape(n, self.g, self.in_planes, (h + 1) // 2, (w + 1) // 2)
        extra = self.planes - self.in_planes
        x = F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))
        return x.reshape(n, self.g * self.planes, *x.shape[-2:])

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


class GroupedResNet8(nn.Module):
    def __init__(self, g: int, classes: int = 10, channels: int = 1):
        super().__init__()
        self.g, self.classes = g, classes
        self.conv = nn.Conv2d(g * channels, g * 16, 3, 1, 1, bias=False, groups=g)
        self.bn = nn.BatchNorm2d(g * 16)
        self.blocks = nn.Sequential(GroupedBlock(g, 16, 16, 1), GroupedBlock(g, 16, 32, 2), GroupedBlock(g, 32, 64, 2))
        self.head = nn.Conv1d(g * 64, g * classes, 1, groups=g)  # G linear heads

    def forward(self, x):  # x: (N, G*channels, H, W), seed s's batch in channels s
        features = self.blocks(F.relu(self.bn(self.conv(x)))).mean((2, 3))
        return self.head(features.unsqueeze(-1)).reshape(len(x), self.g, self.classes)


def step_seconds(net: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, warmup: int = 3) -> float:
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    net.train()
    for i in range(warmup + steps):
        if i == warmup:
            began = time.perf_counter()
        logits = net(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)) * (y.numel() // len(y))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - began) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="the quick profile trains with 1 thread per run")
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/grouped_seeds.json")
    args = parser.parse_args()
    seed_everything(0, args.threads)
    rows = [measure(args.seeds, batch, channels_last, args.steps, args.threads)
            for batch in args.batch for channels_last in (False, True)]
    for row in rows:
        print(json.dumps(row))
    if args.save:
        print(save("grouped_seeds", rows))


def measure(g: int, batch: int, channels_last: bool, steps: int, threads: int) -> dict:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    single, grouped = build_resnet("resnet8", 10, 1), GroupedResNet8(g)
    x1 = torch.randn(batch, 1, 28, 28).contiguous(memory_format=fmt)
    xg = torch.randn(batch, g, 28, 28).contiguous(memory_format=fmt)
    y1, yg = torch.randint(0, 10, (batch,)), torch.randint(0, 10, (batch, g))
    t1 = step_seconds(single.to(memory_format=fmt), x1, y1, steps)
    tg = step_seconds(grouped.to(memory_format=fmt), xg, yg, steps)
    return {"seeds": g, "batch": batch, "threads": threads, "channels_last": channels_last,
            "single_ms_per_step": round(t1 * 1000, 1), "grouped_ms_per_step": round(tg * 1000, 1),
            "grouped_over_separate": round(tg / (g * t1), 2)}


if __name__ == "__main__":
    main()
