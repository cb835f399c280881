"""Benchmark: ResNet-50 training images/s at 64x64, plain fp32 loop vs the project's loop.

Usage: python bench/train_speed.py [--steps 8] [--batch-size 32] [--data DIR]

- plain: what a tutorial writes: an ImageFolder-style dataset decoding JPEGs with torchvision
  transforms (RandomResizedCrop + flips) in a DataLoader, fp32, default memory format;
- project: what ``lulc train classifier`` does: images decoded once into a uint8 tensor,
  per-sample RandomResizedCrop + flips on the batch, channels_last and bf16 autocast (when the
  CPU supports it).
Both run the same number of SGD steps in the same process; the ratio is what we report.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from lulc_core.config import eurosat_dir
from lulc_core.data.eurosat import load_uint8, read_image, scan_eurosat
from lulc_core.errors import LulcError
from lulc_core.models import build_classifier
from lulc_core.train import autocast, bf16_supported, random_resized_crop_flip


def plain(files: list[str], labels: list[int], root: Path, steps: int, bs: int) -> float:
    from torchvision import transforms as T

    tf = T.Compose([T.ToTensor(), T.RandomResizedCrop(64, antialias=True),
                    T.RandomHorizontalFlip(), T.RandomVerticalFlip()])

    class DS(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(files)

        def __getitem__(self, i: int):
            return tf(read_image(root / files[i])), labels[i]

    loader = torch.utils.data.DataLoader(DS(), batch_size=bs, shuffle=True, num_workers=0)
    model = build_classifier("resnet50", 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    it, seen = iter(loader), 0
    x, y = next(it)  # warm-up step outside the timing
    nn.functional.cross_entropy(model(x), y).backward()
    t0 = time.perf_counter()
    for _ in range(steps):
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            x, y = next(it)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(y)
    return seen / (time.perf_counter() - t0)


def project(files: list[str], labels: list[int], root: Path, steps: int, bs: int) -> tuple[float, bool]:
    device = torch.device("cpu")
    bf16 = bf16_supported(device)
    images = load_uint8(root, files)
    ys = torch.tensor(labels)
    model = build_classifier("resnet50", 10).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(i: int) -> None:
        idx = torch.randint(0, len(ys), (bs,))
        x = random_resized_crop_flip(images[idx].float() / 255, 64, (0.6, 1.0))
        x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device, bf16):
            out = model(x)
        loss = nn.functional.cross_entropy(out.float(), ys[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(-1)  # warm-up
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    return steps * bs / (time.perf_counter() - t0), bf16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    root = args.data or eurosat_dir()
    try:
        files, labels = scan_eurosat(root)
    except LulcError as e:
        parser.error(str(e))
    n = (args.steps + 2) * args.batch_size
    pick = torch.randperm(len(files), generator=torch.Generator().manual_seed(0))[:n].tolist()
    files, labels = [files[i] for i in pick], [labels[i] for i in pick]
    torch.manual_seed(0)
    a = plain(files, labels, root, args.steps, args.batch_size)
    b, bf16 = project(files, labels, root, args.steps, args.batch_size)
    print(f"threads {torch.get_num_threads()}, batch {args.batch_size}, steps {args.steps}, 64x64 px")
    print(f"plain fp32 loop      {a:8.1f} images/s")
    print(f"project loop         {b:8.1f} images/s (bf16 autocast: {bf16}, channels_last)")
    print(f"speed-up             {b / a:8.2f}x (goal >= 2.5x)")


if __name__ == "__main__":
    main()
