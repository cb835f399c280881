"""Benchmark: ResNet-50 training images/s at 64x64, plain fp32 loop vs the project's loop.

Usage: python bench/train_speed.py [--steps 8] [--batch-size 128] [--repeats 1] [--data DIR]

- plain: what a tutorial writes: an ImageFolder-style dataset decoding JPEGs with torchvision
  transforms (RandomResizedCrop + flips) in a DataLoader, fp32, default memory format, SGD with
  momentum;
- project: the code ``lulc train classifier`` runs for every batch: images decoded once into a
  uint8 tensor, ``augment_batch`` (per-sample RandomResizedCrop + flips, normalisation,
  channels_last), the recipe's ``sgd_optimizer``, ``warmup_cosine`` schedule and loss, and
  ``train_step`` (bf16 autocast when the CPU supports it).
Both loops run the same number of SGD steps at the same batch size (default: the recipe's) in
the same process, each after one untimed warm-up step; ``--repeats`` alternates them and
reports every pair. On a CPU the ratio is only meaningful on an idle machine: the output says
how much CPU other processes used while it ran.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from lulc_core.config import eurosat_dir
from lulc_core.data.eurosat import load_uint8, read_image, scan_eurosat
from lulc_core.errors import LulcError
from lulc_core.models import build_classifier
from lulc_core.engine import train_step
from lulc_core.inference import bf16_supported
from lulc_core.train import ClassifierTrainConfig, augment_batch, sgd_optimizer, warmup_cosine

SIZE = 64


def images_per_second(step: Callable[[], None], steps: int, bs: int) -> float:
    """Images/s of ``steps`` calls of ``step`` (one batch of ``bs`` each) after one warm-up call."""
    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * bs / (time.perf_counter() - t0)


def plain(files: list[str], labels: list[int], root: Path, steps: int, bs: int) -> float:
    """Images/s of a tutorial fp32 training loop (JPEG decoding in the loop)."""
    from torchvision import transforms as T

    tf = T.Compose([T.ToTensor(), T.RandomResizedCrop(SIZE, antialias=True),
                    T.RandomHorizontalFlip(), T.RandomVerticalFlip()])

    class DS(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(files)

        def __getitem__(self, i: int):
            return tf(read_image(root / files[i])), labels[i]

    loader = torch.utils.data.DataLoader(DS(), batch_size=bs, shuffle=True, num_workers=0,
                                         drop_last=True)
    model = build_classifier("resnet50", 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = iter(())

    def step() -> None:
        nonlocal batches
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return images_per_second(step, steps, bs)


def project(images: torch.Tensor, labels: torch.Tensor, steps: int, bs: int, bf16: bool,
            dataset_size: int) -> float:
    """Images/s of the project's training step (``lulc train classifier``, CPU).

    ``dataset_size`` (all EuroSAT images) sets the schedule as in a full run: the timed steps
    fall in the first epoch's LR warm-up, like the first batches of a real run.
    """
    device = torch.device("cpu")
    config = ClassifierTrainConfig(model="resnet50", weights="none", input_size=SIZE, batch_size=bs)
    as_float = images.float() / 255.0
    mean = as_float.mean(dim=(0, 2, 3)).view(1, -1, 1, 1)
    std = as_float.std(dim=(0, 2, 3)).view(1, -1, 1, 1)
    model = build_classifier(config.model, 10).to(memory_format=torch.channels_last)
    model.train()
    optimizer = sgd_optimizer(model, config.lr, config.momentum, config.weight_decay)
    epoch = math.ceil(dataset_size * (1 - config.test_fraction) / bs)
    scheduler = warmup_cosine(optimizer, epoch * config.epochs, int(epoch * config.warmup_epochs))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        idx = torch.randint(0, len(labels), (bs,), generator=generator)
        x = augment_batch(images[idx], config.input_size, config.crop_scale, mean, std, generator)
        train_step(model, x, labels[idx], optimizer, loss_fn, device, bf16)
        scheduler.step()

    return images_per_second(step, steps, bs)


def busy_cpu_seconds() -> tuple[float, float]:
    """(CPU seconds all processes have used since boot, of which this process), Linux."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return math.nan, math.nan
    idle = fields[3] + fields[4]  # idle + iowait
    own = os.times()
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK"), own.user + own.system


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="timed SGD steps per loop")
    parser.add_argument("--batch-size", type=int, default=ClassifierTrainConfig().batch_size,
                        help="images per step, both loops (default: the recipe's)")
    parser.add_argument("--repeats", type=int, default=1, help="plain/project pairs, alternated")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    root = args.data or eurosat_dir()
    try:
        files, labels = scan_eurosat(root)
    except LulcError as e:
        parser.error(str(e))
    dataset_size = len(files)
    n = (args.steps + 1) * args.batch_size
    pick = torch.randperm(len(files), generator=torch.Generator().manual_seed(0))[:n].tolist()
    files, labels = [files[i] for i in pick], [labels[i] for i in pick]
    images, ys = load_uint8(root, files), torch.tensor(labels)
    bf16 = bf16_supported(torch.device("cpu"))
    load_before = os.getloadavg()
    busy0, own0, t0 = *busy_cpu_seconds(), time.perf_counter()
    torch.manual_seed(0)
    pairs = [(plain(files, labels, root, args.steps, args.batch_size),
              project(images, ys, args.steps, args.batch_size, bf16, dataset_size))
             for _ in range(args.repeats)]
    busy1, own1, t1 = *busy_cpu_seconds(), time.perf_counter()
    others = ((busy1 - busy0) - (own1 - own0)) / ((t1 - t0) * (os.cpu_count() or 1))
    print(f"{cpu_name()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} threads, "
          f"bf16 autocast: {bf16}")
    print(f"load average {load_before[0]:.2f} before; other processes used {others:.0%} of the "
          "CPUs while it ran (ratios are only comparable near 0%)")
    print(f"ResNet-50, {SIZE}x{SIZE} px, batch {args.batch_size} (both loops), "
          f"{args.steps} timed steps")
    for a, b in pairs:
        print(f"plain fp32 loop {a:7.1f} images/s | project loop {b:7.1f} images/s | {b / a:5.2f}x")
    if args.repeats > 1:
        print(f"median ratio {statistics.median(b / a for a, b in pairs):.2f}x")
    print("goal >= 2.5x")


if __name__ == "__main__":
    main()
